"""Registry look-ups (WHOIS on TCP, RDAP over HTTPS) against real servers on loopback, hostile ones too."""

from __future__ import annotations

import asyncio
import json
import ssl

from conftest import Handler, Pki, http_handler, serve

from probe.lab.registry_server import rdap_json, whois_text
from probe.models.registry import RegistryObservation
from probe.net.artifacts import ArtifactSink
from probe.net.clock import measurement_clock
from probe.net.registry import MAX_ANSWER_BYTES, RegistryServer, load_table, parse_server, registry_lookup


def _lookup(handler: Handler, *, protocol: str = "whois", ctx: ssl.SSLContext | None = None,
            pki: Pki | None = None, timeout_s: float = 2.0) -> tuple[RegistryObservation, ArtifactSink]:
    sink = ArtifactSink()

    async def go() -> RegistryObservation:
        server, port = await serve(handler, ctx)
        where = (RegistryServer("rdap", f"https://localhost:{port}/rdap/") if protocol == "rdap"
                 else RegistryServer("whois", "127.0.0.1", port))
        async with server:
            return await registry_lookup("selftanu.kz", where, timeout_s=timeout_s,
                                         ca_bundle=pki.ca_file if pki else None, clock=measurement_clock(), sink=sink)
    return asyncio.run(go()), sink


def _whois_answer(data: bytes, *, close: bool = True) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readline()
            writer.write(data)
            await writer.drain()
            if not close:
                await asyncio.sleep(30)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
    return handle


def test_whois_hold_is_read_and_the_raw_answer_kept() -> None:
    answer = whois_text("selftanu.kz", ["serverHold", "clientTransferProhibited - transfer prohibited"])
    obs, sink = _lookup(_whois_answer(answer))
    assert obs.failure is None and obs.found is True
    assert obs.statuses == ["serverHold", "clientTransferProhibited - transfer prohibited"]
    assert obs.raw_sha256 is not None and sink.get(obs.raw_sha256) == answer
    assert (obs.protocol, obs.raw_length, obs.raw_is_truncated) == ("whois", len(answer), False)


def test_whois_nothing_found() -> None:
    obs, _ = _lookup(_whois_answer(whois_text("selftanu.kz", None)))
    assert (obs.found, obs.statuses) == (False, [])


def test_a_whois_server_that_never_stops_talking_is_cut_at_the_cap() -> None:
    obs, sink = _lookup(_whois_answer(b"Domain status : ok\n" + b"x" * (MAX_ANSWER_BYTES * 4)))
    assert obs.failure is None and obs.raw_is_truncated and obs.raw_length == MAX_ANSWER_BYTES


def test_a_whois_server_that_never_closes_times_out_as_a_failure() -> None:
    obs, _ = _lookup(_whois_answer(b"Domain status : ok\n", close=False), timeout_s=0.5)
    assert obs.failure == "generic_timeout_error" and obs.raw_sha256 is None


def test_a_closed_whois_port_is_connection_refused() -> None:
    async def go() -> RegistryObservation:
        server, port = await serve(_whois_answer(b""))
        server.close()
        await server.wait_closed()
        return await registry_lookup("selftanu.kz", RegistryServer("whois", "127.0.0.1", port), timeout_s=2,
                                     ca_bundle=None, clock=measurement_clock(), sink=ArtifactSink())
    assert asyncio.run(go()).failure == "connection_refused"


def test_rdap_hold_over_https_with_the_injected_ca(lab_pki: Pki) -> None:
    body = rdap_json("selftanu.kz", ["serverHold", "clientTransferProhibited"])
    obs, _ = _lookup(http_handler(body), protocol="rdap", ctx=lab_pki.server_context(["localhost"]), pki=lab_pki)
    assert (obs.failure, obs.status_code, obs.found) == (None, 200, True)
    assert obs.statuses == ["server hold", "client transfer prohibited"]


def test_rdap_404_is_no_such_name(lab_pki: Pki) -> None:
    obs, _ = _lookup(http_handler(b'{"errorCode":404}', status="404 Not Found"), protocol="rdap",
                     ctx=lab_pki.server_context(["localhost"]), pki=lab_pki)
    assert (obs.status_code, obs.found, obs.statuses) == (404, False, [])


def test_rdap_garbage_is_data_not_a_crash(lab_pki: Pki) -> None:
    for body in (b"\xff\xfe not json", b"[" * 100_000, json.dumps({"status": [1, None, {"a": 2}]}).encode(),
                 json.dumps({"status": "serverHold"}).encode()):
        obs, _ = _lookup(http_handler(body), protocol="rdap", ctx=lab_pki.server_context(["localhost"]),
                         pki=lab_pki)
        assert obs.failure is None and obs.statuses == []


def test_rdap_with_an_untrusted_certificate_is_a_tls_failure(lab_pki: Pki) -> None:
    obs, _ = _lookup(http_handler(b"{}"), protocol="rdap", ctx=lab_pki.server_context(["localhost"]), pki=None)
    assert obs.failure == "ssl_unknown_authority"


def test_the_shipped_table_and_overrides() -> None:
    table = load_table()
    assert table.registered_domain("www.selftanu.kz") == "selftanu.kz"
    assert table.registered_domain("news.example.com.kz") == "example.com.kz"
    assert table.registered_domain("example.invalid") is None
    server = table.server_for("selftanu.kz")
    assert server is not None and (server.protocol, server.address, server.port) == ("whois", "whois.nic.kz", 43)
    rdap = table.server_for("example.org")
    assert rdap is not None and rdap.protocol == "rdap"
    lab = table.with_overrides({"kz": "whois://10.77.3.53:4343"}).server_for("selftanu.kz")
    assert lab == RegistryServer("whois", "10.77.3.53", 4343)
    assert parse_server("https://198.18.0.43:8443/rdap").address == "https://198.18.0.43:8443/rdap/"
    assert table.with_overrides({"kz": "off"}).server_for("selftanu.kz") is None
