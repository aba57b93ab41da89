"""Before a run, the probe asks each helper over IPv4 and over IPv6 which address it sees, so it can
scrub an echoed public IPv4 address even when its measurements reach the helper over IPv6.

A real helper (ControlServer) on 127.0.0.1 and ::1 with a certificate from a throwaway CA."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import pytest
from test_control_fixtures import TestCA

from probe.control.client.api import ControlClient
from probe.control.client.whoami import _client_ip
from probe.control.server.serve import ControlServer
from probe.control.server.settings import HelperSettings


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
            return await client.public_addresses()
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
            return await client.public_addresses(), loop.time() - started
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
            return await client.public_addresses()
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
    assert _client_ip(body) == expected
