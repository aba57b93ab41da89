"""The probe's control client: helpers in order, 503 and Retry-After, unreachable helpers, DoH fallback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from test_control_fixtures import HttpServer, Reply, TestCA, Zone, doh_handler
from test_control_server import world

from probe.control.client.api import ControlClient, control_endpoint
from probe.errors import InputError
from probe.models.control import ControlDNS, ControlResponse


def dead_url() -> str:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"https://127.0.0.1:{port}/"


async def fake_helper(ca: TestCA, reply: Reply) -> tuple[HttpServer, str]:
    async def handle(method: str, target: str, body: bytes) -> Reply:
        return reply
    server = HttpServer(handle, ca.server_context(ca.issue("fake", ips=("127.0.0.1",))))
    port = await server.start()
    return server, f"https://127.0.0.1:{port}/"


def test_endpoint_urls() -> None:
    assert control_endpoint("https://198.18.0.80/") == "https://198.18.0.80/api/v1/control"
    assert control_endpoint("https://h.example/x") == "https://h.example/x/api/v1/control"
    assert control_endpoint("https://h.example/api/v1/control") == "https://h.example/api/v1/control"
    with pytest.raises(InputError):
        control_endpoint("198.18.0.80")


def test_falls_back_to_the_next_helper(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path) as w:
            dead = dead_url()
            client = w.client(urls=[dead, w.helper_url])
            try:
                response, failure = await client.query(f"https://site.test:{w.port}/", [])
                assert failure is None and response is not None and response.helper == w.helper_url
                # The dead helper is not asked again for a while: no second connect per URL.
                response, _ = await client.query(f"https://site.test:{w.port}/final", [])
                assert response is not None and response.helper == w.helper_url
            finally:
                await client.aclose()
    asyncio.run(main())


def test_503_gets_one_short_retry_then_the_next_helper(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path) as w:
            soon, soon_url = await fake_helper(w.ca, (503, [("Retry-After", "0")], b"{}"))
            later, later_url = await fake_helper(w.ca, (503, [("Retry-After", "120")], b"{}"))
            client = w.client(urls=[soon_url, later_url, w.helper_url])
            try:
                response, failure = await client.query(f"https://site.test:{w.port}/", [])
            finally:
                await client.aclose()
                await soon.close()
                await later.close()
            assert failure is None and response is not None and response.helper == w.helper_url
            assert len(soon.requests) == 2 and len(later.requests) == 1
    asyncio.run(main())


def test_no_helper_answering_is_explained_in_plain_words(tmp_path: Path) -> None:
    async def main() -> None:
        ca = TestCA(tmp_path)
        junk, junk_url = await fake_helper(ca, (200, [], b'{"not": "a control response"}'))
        dead = dead_url()
        client = ControlClient(urls=[dead, junk_url], ca_bundle=ca.bundle, doh_url=None, timeout_s=5)
        try:
            response, failure = await client.query("https://site.test/", ["198.51.100.7"])
            again, failure_again = await client.query("https://site.test/", [])
        finally:
            await client.aclose()
            await junk.close()
        assert response is None and failure is not None
        assert failure.startswith(f"no control helper answered: {dead}: connection_refused; {junk_url}: ")
        assert "not a valid control response" in failure
        assert again is None and failure_again is not None and "not asked again yet" in failure_again
    asyncio.run(main())


def test_an_untrusted_helper_certificate_is_a_failure(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path) as w:
            client = ControlClient(urls=[w.helper_url], ca_bundle=None, doh_url=None, timeout_s=5)
            try:
                response, failure = await client.query(f"https://site.test:{w.port}/", [])
            finally:
                await client.aclose()
            assert response is None and failure is not None and "ssl_unknown_authority" in failure
    asyncio.run(main())


def test_dns_over_https_when_no_helper_answers(tmp_path: Path) -> None:
    async def main() -> None:
        ca = TestCA(tmp_path)
        zone = Zone({"site.test": ["198.51.100.7", "2001:db8::7"]})
        doh = HttpServer(doh_handler(zone), ca.server_context(ca.issue("doh", ips=("127.0.0.1",))))
        doh_url = f"https://127.0.0.1:{await doh.start()}/dns-query"
        dead = dead_url()
        client = ControlClient(urls=[dead], ca_bundle=ca.bundle, doh_url=doh_url, timeout_s=5)
        try:
            found, note = await client.query("https://site.test/page", [])
            missing, _ = await client.query("http://gone.test/", [])
        finally:
            await client.aclose()
            await doh.close()
        assert found is not None and found.helper == f"doh:{doh_url}" and found.http is None
        assert found.endpoints == [] and found.client_ip is None
        assert sorted(found.dns.addresses) == ["198.51.100.7", "2001:db8::7"] and found.dns.failure is None
        assert note is not None and dead in note and "DNS over HTTPS only" in note
        assert missing is not None and missing.dns.failure == "dns_nxdomain_error" and missing.dns.addresses == []
        assert len(doh.requests) == 4  # A and AAAA for each URL, all POSTs to /dns-query
    asyncio.run(main())


def test_dns_over_https_failing_too_is_explained(tmp_path: Path) -> None:
    async def main() -> None:
        dead, dead_doh = dead_url(), dead_url() + "dns-query"
        client = ControlClient(urls=[dead], ca_bundle=None, doh_url=dead_doh, timeout_s=5)
        try:
            response, failure = await client.query("https://site.test/", [])
        finally:
            await client.aclose()
        assert response is None and failure is not None
        assert failure.endswith(f"DNS over HTTPS {dead_doh}: connection_refused")
    asyncio.run(main())


def test_a_blackholed_helper_times_out_once_then_is_skipped(tmp_path: Path) -> None:
    async def main() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # accepts, never speaks TLS: like a censor that drops after the SYN

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        client = ControlClient(urls=[url], ca_bundle=None, doh_url=None, timeout_s=1.0)
        loop = asyncio.get_running_loop()
        try:
            _, first = await client.query("https://site.test/", [])
            started = loop.time()
            _, second = await client.query("https://site.test/", [])
            skipped_in = loop.time() - started
        finally:
            await client.aclose()
            server.close()
        assert first == f"no control helper answered: {url}: generic_timeout_error"
        assert second is not None and "not asked again yet" in second and skipped_in < 0.2
    asyncio.run(main())


def _counting_helper(ca: TestCA, pause_s: float) -> tuple[HttpServer, list[int]]:
    """A fake helper that answers a valid (empty) control response after `pause_s`; [now, peak] in flight."""
    answer = ControlResponse(helper="", dns=ControlDNS()).model_dump_json().encode()
    load = [0, 0]

    async def handle(method: str, target: str, body: bytes) -> Reply:
        load[0] += 1
        load[1] = max(load)
        try:
            await asyncio.sleep(pause_s)
        finally:
            load[0] -= 1
        return 200, [("Content-Type", "application/json")], answer
    return HttpServer(handle, ca.server_context(ca.issue("counting", ips=("127.0.0.1",)))), load


def test_questions_in_flight_are_capped_and_the_rest_wait(tmp_path: Path) -> None:
    async def main() -> None:
        ca = TestCA(tmp_path)
        server, load = _counting_helper(ca, 0.05)
        url = f"https://127.0.0.1:{await server.start()}/"
        client = ControlClient(urls=[url], ca_bundle=ca.bundle, doh_url=None, timeout_s=10, max_connections=4)
        try:
            answers = await asyncio.gather(*(client.query("https://site.test/", []) for _ in range(24)))
        finally:
            await client.aclose()
            await server.close()
        assert all(response is not None and failure is None for response, failure in answers)
        assert load[1] == 4  # the cap, and it is used
    asyncio.run(main())


def test_waiting_for_a_slot_is_part_of_the_timeout(tmp_path: Path) -> None:
    async def main() -> None:
        ca = TestCA(tmp_path)
        server, load = _counting_helper(ca, 0.4)
        url = f"https://127.0.0.1:{await server.start()}/"
        client = ControlClient(urls=[url], ca_bundle=ca.bundle, doh_url=None, timeout_s=0.6, max_connections=1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            answers = await asyncio.gather(*(client.query("https://site.test/", []) for _ in range(3)))
        finally:
            await client.aclose()
            await server.close()
        took = loop.time() - started
        answered = [r for r, _ in answers if r is not None]
        timed_out = [f for r, f in answers if r is None]
        # One is answered; the others waited for the one slot and gave up at the deadline (not 3 × 0.4 s).
        assert len(answered) == 1 and load[1] == 1
        assert timed_out == [f"no control helper answered: {url}: generic_timeout_error"] * 2
        assert took < 1.0
    asyncio.run(main())


def test_a_slot_is_released_when_the_caller_gives_up(tmp_path: Path) -> None:
    async def main() -> None:
        ca = TestCA(tmp_path)
        server, _ = _counting_helper(ca, 0.3)
        url = f"https://127.0.0.1:{await server.start()}/"
        client = ControlClient(urls=[url], ca_bundle=ca.bundle, doh_url=None, timeout_s=5, max_connections=1)
        try:
            for _ in range(3):  # each gives up mid-exchange or while waiting; the slot must come back
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(client.query("https://site.test/", []), 0.1)
            response, failure = await asyncio.wait_for(client.query("https://site.test/", []), 5)
            assert response is not None, failure
        finally:
            await client.aclose()
            await server.close()
    asyncio.run(main())


def test_doh_answers_an_address_literal_itself_and_asks_nothing() -> None:
    from probe.control.client.doh import doh_resolve

    async def main() -> list[ControlDNS | None]:
        async with httpx.AsyncClient(trust_env=False) as client:  # never used: nothing to resolve
            return [(await doh_resolve(client, "https://127.0.0.1:9/dns-query", host))[0]
                    for host in ("192.0.2.1", "[2001:db8::1]", "::ffff:192.0.2.7")]

    answers = asyncio.run(main())
    assert [a.addresses if a else None for a in answers] == [["192.0.2.1"], ["2001:db8::1"], ["192.0.2.7"]]
