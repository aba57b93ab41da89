"""The helper's connection gate on real loopback sockets: floods of silent, idle and trickling clients.

Issue 18 finding 3: silent TCP connections were not counted before their TLS handshake (each cost
256 KiB of buffer: 15,000 took the old helper to 3.8 GB), and idle TLS connections from one client
could hold every slot. Finding 8: a request head twice the 16 KiB limit passed when it arrived in
one piece. The old server (asyncio + h11) fails each of these tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from test_control_fixtures import TestCA

from probe.cli.eventloop import event_loop_factory
from probe.control.server.gate import TLS_BUFFER_BYTES, GateLimits, client_key
from probe.control.server.serve import ControlServer
from probe.control.server.settings import HelperSettings


@contextlib.asynccontextmanager
async def helper(tmp_path: Path, limits: GateLimits, *, tls: bool = True,
                 log: list[str] | None = None) -> AsyncIterator[tuple[ControlServer, int, ssl.SSLContext]]:
    ca = TestCA(tmp_path)
    cert = ca.issue("helper", ips=("127.0.0.1",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    server = ControlServer(settings=HelperSettings(), ssl_context=context if tls else None, limits=limits,
                           log=None if log is None else log.append)
    (_, port), = await server.start([("127.0.0.1", 0)])
    try:
        yield server, port, ssl.create_default_context(cafile=ca.bundle)
    finally:
        await server.close()


async def _silent(port: int, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    """True when the server ends the connection (EOF or reset) within `seconds`."""
    try:
        await asyncio.wait_for(reader.read(), seconds)
    except (ConnectionError, OSError):
        return True
    except TimeoutError:
        return False
    return True


async def _health(port: int, context: ssl.SSLContext | None, source: str = "127.0.0.1") -> int:
    scheme = "https" if context is not None else "http"
    transport = httpx.AsyncHTTPTransport(local_address=source, verify=context or False)
    async with httpx.AsyncClient(transport=transport, timeout=5) as http:
        return (await http.get(f"{scheme}://127.0.0.1:{port}/api/v1/health")).status_code


def test_silent_connections_are_counted_before_the_handshake_and_shed(tmp_path: Path) -> None:
    async def main() -> None:
        limits = GateLimits(max_connections=40, max_handshakes=20, max_per_client=1000, handshake_timeout_s=1)
        async with helper(tmp_path, limits) as (server, port, context):
            silent = [await _silent(port) for _ in range(60)]
            await asyncio.sleep(0.2)
            gate = server.gate
            assert gate.handshakes <= 20 and gate.connections <= 40
            assert gate.refused >= 40  # turned away at once, before any buffer was made for them
            started = time.monotonic()
            await asyncio.gather(*(_closed_within(r, 5) for r, _ in silent))
            assert time.monotonic() - started < 3  # the handshake timeout (1 s) ended the rest
            assert gate.connections == 0 and gate.handshakes == 0 and not gate.per_client
            assert await _health(port, context) == 200  # and the helper serves again
            for _, writer in silent:
                writer.close()
    asyncio.run(main())


def test_one_client_cannot_hold_every_slot(tmp_path: Path) -> None:
    async def main() -> None:
        limits = GateLimits(max_connections=100, max_per_client=5, head_timeout_s=30)
        async with helper(tmp_path, limits) as (server, port, context):
            idle = [await asyncio.open_connection("127.0.0.1", port, ssl=context) for _ in range(5)]
            extra, _ = await _silent(port)
            assert await _closed_within(extra, 2)  # the sixth from the same address is reset
            assert server.gate.per_client == {"127.0.0.1": 5}
            assert await _health(port, context, source="127.0.0.2") == 200  # another client still gets in
            for _, writer in idle:
                writer.close()
    asyncio.run(main())


def test_idle_and_trickling_clients_lose_their_connection(tmp_path: Path) -> None:
    async def main() -> None:
        limits = GateLimits(head_timeout_s=1.0, keep_alive_s=1.0)
        async with helper(tmp_path, limits) as (server, port, context):
            idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
            slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)

            async def trickle() -> None:
                with contextlib.suppress(ConnectionError, OSError):
                    for byte in b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                        slow_writer.write(bytes([byte]))
                        await slow_writer.drain()
                        await asyncio.sleep(0.1)

            feeding = asyncio.create_task(trickle())
            started = time.monotonic()
            assert await _closed_within(idle_reader, 4) and await _closed_within(slow_reader, 4)
            assert time.monotonic() - started < 3
            feeding.cancel()
            idle_writer.close()
            slow_writer.close()
            assert server.gate.connections == 0
    asyncio.run(main())


async def _send_head(port: int, context: ssl.SSLContext, head: bytes, pieces: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    try:
        step = -(-len(head) // pieces)
        for i in range(0, len(head), step):
            writer.write(head[i:i + step])
            await writer.drain()
        return await asyncio.wait_for(reader.read(200), 5)
    finally:
        writer.close()


def test_request_heads_over_16_kib_are_refused_however_they_arrive(tmp_path: Path) -> None:
    def head(size: int) -> bytes:
        start = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: "
        return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"

    async def main() -> None:
        async with helper(tmp_path, GateLimits()) as (_, port, context):
            assert len(head(16 * 1024)) == 16 * 1024
            for pieces in (1, 3):
                assert (await _send_head(port, context, head(16 * 1024), pieces)).startswith(b"HTTP/1.1 200")
                for size in (16 * 1024 + 1, 20 * 1024, 32 * 1024 - 1):
                    reply = await _send_head(port, context, head(size), pieces)
                    assert reply.startswith(b"HTTP/1.1 431"), (size, pieces, reply)
    asyncio.run(main())


def test_plain_http_behind_a_proxy_has_the_same_gate(tmp_path: Path) -> None:
    async def main() -> None:
        lines: list[str] = []
        limits = GateLimits(max_per_client=3, head_timeout_s=30)
        async with helper(tmp_path, limits, tls=False, log=lines) as (server, port, _):
            idle = [await _silent(port) for _ in range(3)]
            extra, _ = await _silent(port)
            assert await _closed_within(extra, 2)
            assert await _health(port, None, source="127.0.0.2") == 200
            for _, writer in idle:
                writer.close()
        assert lines and not any("127.0.0" in line for line in lines)  # never the client's address
    asyncio.run(main())


def test_client_keys() -> None:
    assert client_key(("192.0.2.7", 1234), frozenset()) == "192.0.2.7"
    assert client_key(("::ffff:192.0.2.7", 1, 0, 0), frozenset()) == "192.0.2.7"
    # An IPv6 client has a /64 to itself: one key for all of it.
    assert client_key(("2001:db8:1:2:aaaa::1", 1, 0, 0), frozenset()) == "2001:db8:1:2::/64"
    assert client_key(("2001:db8:1:2:bbbb::9", 1, 0, 0), frozenset()) == "2001:db8:1:2::/64"
    assert client_key(("127.0.0.1", 1), frozenset({"127.0.0.1"})) is None  # a trusted proxy
    assert TLS_BUFFER_BYTES <= 64 * 1024


def test_on_uvloop_every_handshake_reaches_tls_and_the_gate_holds(tmp_path: Path) -> None:
    """The helper runs on uvloop (probe.cli.eventloop.run), which starts reading right after connection_made:
    a ClientHello arriving before the TLS protocol took the socket over went to the HTTP parser and
    the client saw its handshake cut. Many clients at once, each sending its hello at once, and the
    gate's limits still hold on that loop."""
    async def main() -> None:
        assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
        limits = GateLimits(max_connections=300, max_per_client=300)
        async with helper(tmp_path, limits) as (server, port, context):
            statuses = await asyncio.gather(*(_health(port, context) for _ in range(60)))
            assert statuses == [200] * 60
            idle = [await asyncio.open_connection("127.0.0.1", port, ssl=context) for _ in range(3)]
            assert server.gate.connections == 3  # handshakes done, counted until they go
            for _, writer in idle:
                writer.close()
            for _ in range(50):
                if server.gate.connections == 0:
                    break
                await asyncio.sleep(0.05)
            assert server.gate.connections == 0 and not server.gate.per_client

    factory = event_loop_factory()
    assert factory is not None  # uvloop is a dependency of the helper (pyproject.toml)
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())
