"""TCP, TLS and HTTP steps against real servers on loopback with real (lab-CA) certificates."""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct

from conftest import Pki, http_handler, serve

from probe.models.settings import MeasureSettings
from probe.net.artifacts import ArtifactSink
from probe.net.clock import measurement_clock
from probe.net.http import http_get
from probe.net.tcp import tcp_connect
from probe.net.tls import tls_handshake


async def _handshake(port: int, name: str, pki: Pki, sink: ArtifactSink):  # type: ignore[no-untyped-def]
    clock = measurement_clock()
    tcp, sock = await tcp_connect("127.0.0.1", port, timeout_s=2, clock=clock)
    assert sock is not None and tcp.failure is None
    return await tls_handshake(sock, ip="127.0.0.1", port=port, server_name=name, timeout_s=2,
                               ca_bundle=pki.ca_file, clock=clock, sink=sink)


def _tls_case(pki: Pki, variant: str, name: str = "selftanu.kz"):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        server, port = await serve(http_handler(b"<title>ok</title>"), pki.server_context([name], variant=variant))
        sink = ArtifactSink()
        try:
            obs, stream = await _handshake(port, name, pki, sink)
            if stream:
                stream.close()
            return obs, sink
        finally:
            server.close()
    return asyncio.run(go())


def test_valid_chain_is_captured_and_trusted(lab_pki: Pki) -> None:
    obs, sink = _tls_case(lab_pki, "valid")
    assert obs.failure is None and obs.tls_version in ("TLSv1.2", "TLSv1.3")
    assert obs.negotiated_protocol in (None, "http/1.1")
    assert len(obs.peer_certificates) >= 1 and sink.get(obs.peer_certificates[0])
    assert obs.validation and obs.validation.failure is None


def test_expired_certificate(lab_pki: Pki) -> None:
    obs, _ = _tls_case(lab_pki, "expired")
    assert obs.failure == "ssl_invalid_certificate"
    assert obs.tls_version is not None  # the handshake itself completed: the chain is evidence


def test_wrong_host_certificate(lab_pki: Pki) -> None:
    obs, _ = _tls_case(lab_pki, "wrong_host")
    assert obs.failure == "ssl_invalid_hostname"


def test_self_signed_certificate(lab_pki: Pki) -> None:
    obs, _ = _tls_case(lab_pki, "self_signed")
    assert obs.failure == "ssl_unknown_authority"


def test_interception_chain_names_the_rogue_issuer(lab_pki: Pki) -> None:
    obs, _ = _tls_case(lab_pki, "rogue")
    assert obs.failure == "ssl_unknown_authority"
    assert obs.validation is not None
    assert len(obs.peer_certificates) == 2  # leaf + the rogue intermediate: the full chain is kept
    assert "Qaznet Trust Network" in (obs.validation.root_issuer or "")


def test_tls_to_a_plain_server_is_a_handshake_failure(lab_pki: Pki) -> None:
    async def go():  # type: ignore[no-untyped-def]
        async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()

        server, port = await serve(plain)
        try:
            return (await _handshake(port, "selftanu.kz", lab_pki, ArtifactSink()))[0]
        finally:
            server.close()
    obs = asyncio.run(go())
    assert obs.failure in ("ssl_failed_handshake", "eof_error", "connection_reset")


def test_connect_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: the kernel answers RST
    obs, sock = asyncio.run(tcp_connect("127.0.0.1", port, timeout_s=2, clock=measurement_clock()))
    assert sock is None and obs.failure == "connection_refused"


async def _get(handler, *, cap: int = 512 * 1024, timeout: float = 2):  # type: ignore[no-untyped-def]
    server, port = await serve(handler)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sink = ArtifactSink()
        obs = await http_get(reader, writer, url=f"http://127.0.0.1:{port}/", ip="127.0.0.1", port=port,
                             scheme="http", host_header="who.int", target="/", user_agent="t", timeout_s=timeout,
                             body_cap=cap, clock=measurement_clock(), sink=sink)
        return obs, sink
    finally:
        server.close()


def test_http_body_title_and_artifact() -> None:
    obs, sink = asyncio.run(_get(http_handler(b"<html><title> World  Health </title></html>")))
    assert obs.failure is None and obs.response and obs.response.code == 200
    assert obs.response.title == "World Health"
    assert sink.get(obs.response.body_sha256 or "") == b"<html><title> World  Health </title></html>"


def test_http_body_is_capped_and_marked_truncated() -> None:
    obs, _ = asyncio.run(_get(http_handler(b"a" * 300_000), cap=100_000))
    assert obs.response and obs.response.body_length == 100_000 and obs.response.body_is_truncated
    assert obs.failure is None


def test_gzip_bomb_is_bounded_by_the_cap() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    obs, _ = asyncio.run(_get(http_handler(bomb, extra=b"Content-Encoding: gzip\r\n"), cap=64_000))
    assert obs.response and obs.response.body_length == 64_000 and obs.response.body_is_truncated


def test_server_closing_mid_body_is_eof() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a bit")
        await writer.drain()
        writer.close()
    obs, _ = asyncio.run(_get(handler))
    assert obs.failure == "eof_error"
    assert obs.response is not None and obs.response.code == 200  # what did arrive is kept


def test_silent_server_times_out() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
    obs, _ = asyncio.run(_get(handler, timeout=0.3))
    assert obs.failure == "generic_timeout_error" and obs.response is None


def test_settings_defaults_match_the_design() -> None:
    t = MeasureSettings().timeouts
    assert (t.dns_s, t.tcp_s, t.tls_s, t.http_s) == (4.0, 10.0, 10.0, 15.0)


def test_ip_address_certificate_is_checked_as_an_ip(lab_pki: Pki) -> None:
    obs, _ = _tls_case(lab_pki, "valid", name="127.0.0.1")
    assert obs.failure is None and obs.validation and obs.validation.failure is None


def test_fin_after_the_client_hello_is_eof(lab_pki: Pki) -> None:
    async def go():  # type: ignore[no-untyped-def]
        async def fin(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1024)  # the ClientHello
            writer.close()  # FIN, like a censor that closes the flow after seeing the SNI

        server, port = await serve(fin)
        try:
            return (await _handshake(port, "selftanu.kz", lab_pki, ArtifactSink()))[0]
        finally:
            server.close()
    assert asyncio.run(go()).failure == "eof_error"


def test_rst_after_the_client_hello_is_a_reset(lab_pki: Pki) -> None:
    async def go():  # type: ignore[no-untyped-def]
        async def rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1024)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
            writer.transport.abort()

        server, port = await serve(rst)
        try:
            return (await _handshake(port, "selftanu.kz", lab_pki, ArtifactSink()))[0]
        finally:
            server.close()
    assert asyncio.run(go()).failure == "connection_reset"


def test_title_in_an_escaping_charset_never_breaks_the_record() -> None:
    body = b'<meta charset="utf-7"><title>+2AA-</title>'
    obs, _ = asyncio.run(_get(http_handler(body)))
    assert obs.response is not None
    obs.model_dump_json()  # a lone surrogate here would make the measurement unserialisable
    assert (obs.response.title or "").encode("utf-8")


def test_unreadable_certificate_names_are_a_recorded_failure(lab_pki: Pki) -> None:
    from probe.net.certs import validate_chain

    validation = validate_chain([b"\x30\x03\x02\x01\x00"], hostname="selftanu.kz", ca_bundle=lab_pki.ca_file)
    assert validation.failure == "ssl_invalid_certificate" and "unparseable" in (validation.reason or "")


def test_mozilla_roots_load_quietly() -> None:
    from probe.net.certs import check_bundle

    assert check_bundle(None) > 100  # certifi's store, without warnings (pytest turns them into errors)
