"""The control client's httpcore backend on asyncio transports (backend.py, transport.py), on real loopback
TLS servers with certificates made for the test, on asyncio and on uvloop (the probe's loop in a run).

The failure strings are the ones the anyio backend gave (checked against it when it was replaced).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvloop
from test_control_fixtures import HttpServer, Reply, TestCA

from probe.control.client.api import ControlClient
from probe.control.client.backend import _eyeballs_order
from probe.control.client.doh import transport_failure
from probe.control.client.transport import PoolTransport
from probe.models.control import ControlDNS, ControlResponse

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
ANSWER = ControlResponse(helper="", dns=ControlDNS(addresses=["198.51.100.7"])).model_dump_json().encode()


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    return asyncio.run if request.param == "asyncio" else uvloop.run  # type: ignore[no-any-return]


def _trusting(ca: TestCA) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca.bundle))


async def _request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    await reader.readexactly(length)


async def _raw_server(ca: TestCA, behave: Behaviour, *, tls: bool = True,
                      names: tuple[str, ...] = ()) -> tuple[asyncio.Server, str]:
    """A loopback server that does `behave` with each connection (TLS with a leaf of `ca` unless told)."""
    context = ca.server_context(ca.issue("raw", names=names, ips=() if names else ("127.0.0.1",))) if tls else None

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await behave(reader, writer)
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    return server, f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


async def _failure(ca: TestCA, behave: Behaviour, *, tls: bool = True, names: tuple[str, ...] = ()) -> str | None:
    """What the control client says about a helper that behaves so."""
    server, url = await _raw_server(ca, behave, tls=tls, names=names)
    client = ControlClient(urls=[url], ca_bundle=ca.bundle, doh_url=None, timeout_s=1.0)
    try:
        response, failure = await client.query("https://site.test/", [])
    finally:
        await client.aclose()
        server.close()
    assert response is None and failure is not None
    prefix = f"no control helper answered: {url}: "
    assert failure.startswith(prefix)
    return failure[len(prefix):]


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # reads the request (or the TLS hello) and never answers


async def _half_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"dns"')
    await writer.drain()
    writer.close()


async def _half_answer_then_abort(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"dns"')
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.transport.abort()


async def _close_without_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.close()


async def _too_large(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _ in range(40):  # 40 × 32 KiB, more than MAX_RESPONSE_BYTES
        writer.write(b"8000\r\n" + b" " * 0x8000 + b"\r\n")
        await writer.drain()
    await reader.read()


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _request(reader)
    writer.write(b"SPAM\r\n\r\n")
    await writer.drain()
    await reader.read()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() sends RST
    writer.transport.abort()


async def _close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


@pytest.mark.parametrize(("behave", "tls", "expected"), [
    (_silent, False, "generic_timeout_error"),  # accepts TCP, never speaks TLS: the handshake times out
    (_silent, True, "generic_timeout_error"),  # TLS up, the answer never comes: the read times out
    (_half_answer, True, "eof_error"),  # closes (with close_notify) in the middle of the body
    (_half_answer_then_abort, True, "eof_error"),  # closes without close_notify in the middle of the body
    (_close_without_answer, True, "eof_error"),
    (_too_large, True, "unknown_failure: ResponseTooLarge: control answer larger than 1048576 bytes"),
    (_not_http, True, "unknown_failure: RemoteProtocolError: illegal status line: bytearray(b'SPAM')"),
    (_reset, False, "connection_reset"),  # RST in place of the TLS handshake
    (_close, False, "eof_error"),  # FIN in place of the TLS handshake
])
def test_a_misbehaving_helper_fails_as_before(tmp_path: Path, run: Callable[[Coroutine[Any, Any, Any]], Any],
                                              behave: Behaviour, tls: bool, expected: str) -> None:
    assert run(_failure(TestCA(tmp_path), behave, tls=tls)) == expected


def test_certificate_checks_fail_as_before(tmp_path: Path, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
    async def main() -> tuple[str | None, str | None]:
        ca, other = TestCA(tmp_path / "a"), TestCA(tmp_path / "b", name="Another Root")
        foreign = await _failure(ca, _silent, names=("elsewhere.test",))  # a name, not our address
        server = HttpServer(_answer, other.server_context(other.issue("x", ips=("127.0.0.1",))))
        url = f"https://127.0.0.1:{await server.start()}/"
        client = ControlClient(urls=[url], ca_bundle=ca.bundle, doh_url=None, timeout_s=2.0)
        try:
            _, untrusted = await client.query("https://site.test/", [])
        finally:
            await client.aclose()
            await server.close()
        return foreign, untrusted

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    foreign, untrusted = run(main())
    assert foreign == "ssl_invalid_certificate"
    assert untrusted is not None and untrusted.endswith(": ssl_unknown_authority")


async def _answer(method: str, target: str, body: bytes) -> Reply:
    return 200, [("Content-Type", "application/json")], ANSWER


def test_refused_is_a_connect_error(tmp_path: Path, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
    async def main() -> BaseException:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        transport = PoolTransport(ssl_context=_trusting(TestCA(tmp_path)), max_connections=1,
                                  keepalive_expiry=5.0)
        async with httpx.AsyncClient(transport=transport) as http:
            with pytest.raises(httpx.ConnectError) as caught:
                await http.get(f"https://127.0.0.1:{port}/")
        return caught.value

    error = run(main())
    assert transport_failure(error) == "connection_refused"


def test_answers_reuse_one_connection_and_survive_the_helper_closing_it(
        tmp_path: Path, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
    """Keep-alive: one connection for several questions; an idle one the helper closed is not reused."""
    async def main() -> tuple[list[int], int]:
        ca = TestCA(tmp_path)
        connections = 0

        async def answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            for _ in range(2):  # two answers per connection, then the helper closes it while idle
                await _request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(ANSWER), ANSWER))
                await writer.drain()
            writer.close()

        server, url = await _raw_server(ca, answer_then_close)
        transport = PoolTransport(ssl_context=_trusting(ca), max_connections=1, keepalive_expiry=5.0)
        statuses = []
        async with httpx.AsyncClient(transport=transport) as http:
            for _ in range(6):
                reply = await http.post(url, content=b"{}")
                statuses.append(reply.status_code)
                assert reply.content == ANSWER
                await asyncio.sleep(0.05)  # lets the helper's close arrive before the next question
        server.close()
        return statuses, connections

    statuses, connections = run(main())
    assert statuses == [200] * 6 and connections == 3


def test_a_name_is_tried_over_its_addresses(tmp_path: Path, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
    """`localhost` (IPv6 first where it has ::1) reaches a helper that listens on 127.0.0.1 only."""
    async def main() -> int:
        ca = TestCA(tmp_path)
        server = HttpServer(_answer, ca.server_context(ca.issue("local", names=("localhost",))))
        port = await server.start()
        transport = PoolTransport(ssl_context=_trusting(ca), max_connections=1, keepalive_expiry=5.0)
        try:
            async with httpx.AsyncClient(transport=transport) as http:
                return (await http.post(f"https://localhost:{port}/", content=b"{}")).status_code
        finally:
            await server.close()

    assert run(main()) == 200


def test_addresses_are_ordered_ipv6_first_then_ipv4() -> None:
    found = [(socket.AF_INET, "192.0.2.1"), (socket.AF_INET, "192.0.2.2"), (socket.AF_INET6, "2001:db8::1"),
             (socket.AF_INET6, "2001:db8::2")]
    assert _eyeballs_order(found) == ["2001:db8::1", "192.0.2.1", "192.0.2.2", "2001:db8::2"]
