"""Before a run, the probe asks each helper over IPv4 and over IPv6 which address it sees, so it can
scrub an echoed public IPv4 address even when its measurements reach the helper over IPv6.

A real helper (ControlServer) on 127.0.0.1 and ::1 with a certificate from a throwaway CA."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from pathlib import Path

import pytest
from test_control_fixtures import TestCA

from probe.control.client.api import ControlClient
from probe.control.client.whoami import Sighting, _sighting
from probe.control.network import parse_network
from probe.control.server.serve import ControlServer
from probe.control.server.settings import HelperSettings
from probe.identity import AsnDatabase
from probe.identity.model import NetworkIdentity


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_each_family_is_asked_and_answers_what_the_helper_saw(tmp_path: Path) -> None:
    assert _has_ipv6_loopback(), "this test needs IPv6 on loopback (as the lab does)"

    async def main() -> set[str]:
        ca = TestCA(tmp_path)
        cert = ca.issue("helper", ips=("127.0.0.1", "::1"))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert.cert, cert.key)
        helper = ControlServer(settings=HelperSettings(), ssl_context=context)
        (_, port_v4), (_, port_v6) = await helper.start([("127.0.0.1", 0), ("::1", 0)])
        client = ControlClient(urls=[f"https://127.0.0.1:{port_v4}/", f"https://[::1]:{port_v6}/"],
                               ca_bundle=ca.bundle, doh_url=None, timeout_s=10.0)
        try:
            return {s.address for s in await client.whoami()}
        finally:
            await client.aclose()
            await helper.close()

    assert asyncio.run(main()) == {"127.0.0.1", "::1"}


def test_a_blocked_or_absent_helper_teaches_nothing_and_costs_a_bounded_wait(tmp_path: Path) -> None:
    async def main() -> tuple[set[str], float]:
        silent = await asyncio.start_server(lambda r, w: asyncio.sleep(30), "127.0.0.1", 0)  # accepts, never answers
        port = silent.sockets[0].getsockname()[1]
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            closed_port = closed.getsockname()[1]
        client = ControlClient(urls=[f"https://127.0.0.1:{port}/", f"https://127.0.0.1:{closed_port}/"],
                               ca_bundle=None, doh_url=None, timeout_s=2.0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            return {s.address for s in await client.whoami()}, loop.time() - started
        finally:
            await client.aclose()
            silent.close()

    found, took = asyncio.run(main())
    assert found == set() and took < 5  # a generous bound: the ask is capped at min(timeout/2, 3 s)


def test_a_helper_url_that_cannot_be_asked_is_skipped_not_a_crash() -> None:
    async def main() -> set[str]:
        client = ControlClient(urls=["https://[::1]:99999/", "https://" + "a" * 64 + ".invalid/"],
                               ca_bundle=None, doh_url=None, timeout_s=2.0)
        try:
            return {s.address for s in await client.whoami()}
        finally:
            await client.aclose()

    assert asyncio.run(main()) == set()


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"status": "ok", "client_ip": "203.0.113.7"}', "203.0.113.7"),
    (b'{"client_ip": "::ffff:203.0.113.7"}', "203.0.113.7"),
    (b'{"client_ip": "[2001:db8::7]"}', "2001:db8::7"),
    (b'{"status": "ok"}', None),  # an older helper
    (b'{"client_ip": "0.0.0.0"}', None),
    (b'{"client_ip": "not an address"}', None),
    (b"[" * 100_000, None),
    (b"\xff", None),
])
def test_only_a_real_address_is_taken_from_the_answer(body: bytes, expected: str | None) -> None:
    seen = _sighting("https://helper.example/", body)
    assert (seen[1] if seen is not None else None) == expected


def test_a_helper_with_a_database_names_the_network_it_sees_the_probe_on(tmp_path: Path) -> None:
    rows = tmp_path / "asn.tsv"
    rows.write_text("127.0.0.0\t127.255.255.255\t9198\tKZ\tJSC Kazakhtelecom\n", encoding="utf-8")

    async def main() -> list[Sighting]:
        ca = TestCA(tmp_path)
        cert = ca.issue("helper", ips=("127.0.0.1",))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert.cert, cert.key)
        helper = ControlServer(settings=HelperSettings(), ssl_context=context, asn_db=AsnDatabase.open(rows))
        [(_, port)] = await helper.start([("127.0.0.1", 0)])
        client = ControlClient(urls=[f"https://127.0.0.1:{port}/"], ca_bundle=ca.bundle, doh_url=None, timeout_s=10.0)
        try:
            return await client.whoami()
        finally:
            await client.aclose()
            await helper.close()

    [seen] = asyncio.run(main())
    assert seen.address == "127.0.0.1" and seen.problem is None
    assert seen.network == NetworkIdentity(asn="AS9198", cc="KZ", name="JSC Kazakhtelecom", known=True)


@pytest.mark.parametrize(("network", "problem"), [
    ('{"probe_asn": "AS9198", "probe_cc": "KZ", "probe_network_name": "JSC Kazakhtelecom"}', None),
    ("null", None),
    ('{"probe_asn": 99999999999, "probe_cc": "KZ", "probe_network_name": "x"}', "outside the range"),
    ('{"probe_asn": "AS9198", "probe_cc": "KZ", "probe_network_name": "seen at 203.0.113.7"}', "IP address"),
])
def test_the_network_in_a_health_answer_is_checked(network: str, problem: str | None) -> None:
    body = f'{{"client_ip": "203.0.113.7", "network": {network}}}'.encode()
    read = _sighting("https://helper.example/", body)
    assert read is not None and read[1] == "203.0.113.7"
    found, refused = parse_network(read[2], own=[read[1]])
    assert (found is not None) == (network.startswith('{"probe_asn": "AS9198"') and problem is None)
    assert (refused is None) if problem is None else (refused is not None and problem in refused)


def test_a_network_name_spelling_the_address_another_family_revealed_is_refused() -> None:
    """A hostile helper reached over IPv6 cannot smuggle the IPv4 address (as a number) seen on the
    other ask into the stored network name: every answer is checked against every address seen."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        peer = writer.get_extra_info("peername")[0]
        body = json.dumps({"client_ip": peer, "network": {"probe_asn": "AS9198", "probe_cc": "KZ",
                                                          "probe_network_name": "ISP 2130706433"}}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()

    async def main() -> list[Sighting]:
        v4 = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = v4.sockets[0].getsockname()[1]
        v6 = await asyncio.start_server(answer, "::1", port)
        client = ControlClient(urls=[f"http://127.0.0.1:{port}/", f"http://[::1]:{port}/"], ca_bundle=None,
                               doh_url=None, timeout_s=5.0)
        try:
            return await client.whoami()
        finally:
            await client.aclose()
            v4.close()
            v6.close()

    seen = asyncio.run(main())
    assert {s.address for s in seen} == {"127.0.0.1", "::1"}  # 2130706433 is 127.0.0.1 as a number
    assert all(s.network is None and s.problem is not None and "probe's address" in s.problem for s in seen)
