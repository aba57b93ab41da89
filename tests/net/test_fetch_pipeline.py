"""The one fetch pipeline: the probe's measurement and the helper follow a chain the same way.

A loopback origin records every request line and Host header. The probe (measure_url) and the
helper's fetch must ask for the same bytes: raw UTF-8 Locations percent-encoded as a browser does,
an IPv6 literal's Host in brackets (the probe's old loop sent `::1:port`).
"""

from __future__ import annotations

import asyncio
import socket

from probe.control.server.endpoints import Stream
from probe.control.server.fetch import Fetch
from probe.control.server.guard import AddressGuard, parse_cidrs
from probe.control.server.settings import HelperSettings
from probe.measure.url import measure_url
from probe.models import ProbeNetwork
from probe.models.settings import MeasureSettings, Timeouts
from probe.net.artifacts import ArtifactSink
from probe.net.clock import measurement_clock
from probe.net.fetch import parse_target

RAW_LOCATION = "/путь к файлу?q=ю".encode()  # raw UTF-8 with spaces, as .kz and .ru sites send it
ENCODED = "/%D0%BF%D1%83%D1%82%D1%8C%20%D0%BA%20%D1%84%D0%B0%D0%B9%D0%BB%D1%83?q=%D1%8E"
SETTINGS = MeasureSettings(parallel=1, timeouts=Timeouts(dns_s=1, tcp_s=1, tls_s=1, http_s=2))


async def _origin(host: str, seen: list[tuple[str, str]]) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        target = head.split(" ")[1]
        host_header = next(line.split(":", 1)[1].strip() for line in head.split("\r\n")
                           if line.lower().startswith("host:"))
        seen.append((target, host_header))
        if target == "/start":
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: " + RAW_LOCATION + b"\r\nContent-Length: 0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n<title>t</title>")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, host, 0, family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    return server, int(server.sockets[0].getsockname()[1])


def _both(host: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
    async def main() -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
        probe_seen: list[tuple[str, str]] = []
        helper_seen: list[tuple[str, str]] = []
        server, port = await _origin(host, probe_seen)
        literal = f"[{host}]" if ":" in host else host
        url = f"http://{literal}:{port}/start"
        try:
            measured = await measure_url(url, settings=SETTINGS, resolver=None, control=None, network=ProbeNetwork())
        finally:
            server.close()
        server, port = await _origin(host, helper_seen)
        helper_url = f"http://{literal}:{port}/start"
        target = parse_target(helper_url)
        assert target is not None
        guard = AddressGuard(allow=parse_cidrs(["127.0.0.0/8", "::1/128"]))
        fetch = Fetch(settings=HelperSettings(guard=guard), clock=measurement_clock(), sink=ArtifactSink())
        reader, writer = await asyncio.open_connection(host, port)
        try:
            http = await fetch.run(target, Stream(host, reader, writer), None)
        finally:
            server.close()
        assert measured.measurement.final_failure is None
        assert [r.response.code for r in measured.measurement.requests if r.response] == [302, 200]
        assert http.redirects == 1 and http.status_code == 200
        return probe_seen, helper_seen, str(port)
    return asyncio.run(main())


def test_probe_and_helper_ask_for_the_same_bytes() -> None:
    probe_seen, helper_seen, _ = _both("127.0.0.1")
    assert [t for t, _ in probe_seen] == [t for t, _ in helper_seen] == ["/start", ENCODED]


def test_an_ipv6_literal_gets_a_bracketed_host_header() -> None:
    probe_seen, helper_seen, port = _both("::1")
    assert {h for _, h in probe_seen} == {f"[::1]:{_port(probe_seen)}"}
    assert {h for _, h in helper_seen} == {f"[::1]:{port}"}


def _port(seen: list[tuple[str, str]]) -> str:
    return seen[0][1].rsplit(":", 1)[1]
