"""The control helper over real loopback sockets: a real HTTPS API, real origins, a real UDP resolver.

The helper runs with --allow 127.0.0.0/8 (as the lab passes its ranges) so it may reach the origins;
without it, loopback must be refused before any packet is sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import random
import re
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
from test_control_fixtures import HttpServer, Reply, TestCA, Zone, start_dns

from probe.classify.similarity import body_minhash
from probe.control.client.api import ControlClient
from probe.control.server.gate import GateLimits
from probe.control.server.guard import ADDRESS_NOT_ALLOWED, AddressGuard, parse_cidrs
from probe.control.server.serve import ControlServer
from probe.control.server.settings import HelperSettings
from probe.models.control import ControlResponse

IDN_HOST = "xn--e1afmkfd.xn--p1ai"  # пример.рф
# A Location header in raw UTF-8 with spaces, as .kz and .ru sites send it (h11 reads it as latin-1);
# the helper must ask for it percent-encoded, as a browser does.
RAW_LOCATION = cast(str, "/путь к файлу?q=ю".encode())
ENCODED_LOCATION = "/%D0%BF%D1%83%D1%82%D1%8C%20%D0%BA%20%D1%84%D0%B0%D0%B9%D0%BB%D1%83?q=%D1%8E"
PAGE = b"<html><head><title>Site</title></head><body>" + b"hello " * 200 + b"</body></html>"
FINAL = b"<html><title>Final</title></html>"


async def origin(method: str, target: str, body: bytes) -> Reply:
    routes: dict[str, Reply] = {
        "/": (200, [("Content-Type", "text/html")], PAGE),
        "/redirect": (302, [("Location", "/final")], b""),
        "/final": (200, [("Content-Type", "text/html")], FINAL),
        "/loop": (302, [("Location", "/loop")], b""),
        "/big": (200, [], b"x" * 300_000),
        "/escape": (302, [("Location", "http://10.1.2.3/")], b""),
        "/loopback": (302, [("Location", "http://localhost.test:9/")], b""),
        "/kz": (302, [("Location", RAW_LOCATION)], b""),
        ENCODED_LOCATION: (200, [("Content-Type", "text/html")], FINAL),
    }
    if target == "/slow":
        await asyncio.sleep(0.8)
        return 200, [], b"slow"
    if target == "/pause":
        await asyncio.sleep(0.2)
        return 200, [], b"pause"
    return routes.get(target, (404, [], b"not found"))


@dataclass
class World:
    ca: TestCA
    helper: ControlServer
    helper_url: str
    origin: HttpServer
    port: int  # the origins' port (on 127.0.0.1 the site, on 127.0.0.3 an impostor)

    def client(self, **kwargs: object) -> ControlClient:
        options: dict[str, object] = dict(urls=[self.helper_url], ca_bundle=self.ca.bundle, doh_url=None,
                                          timeout_s=10.0)
        options.update(kwargs)
        return ControlClient(**options)  # type: ignore[arg-type]


@asynccontextmanager
async def world(tmp_path: Path, *, allow: tuple[str, ...] = ("127.0.0.0/8",), max_concurrency: int = 8,
                body_cap: int = 512 * 1024, idle_timeout_s: float = 60.0,
                log: list[str] | None = None, routes: dict[str, Reply] | None = None) -> AsyncIterator[World]:
    """`routes` (filled in by the test once it knows the port, if it likes) come before `origin`'s."""
    ca = TestCA(tmp_path)
    extra = routes if routes is not None else {}

    async def site_origin(method: str, target: str, body: bytes) -> Reply:
        return extra[target] if target in extra else await origin(method, target, body)

    site = HttpServer(site_origin, ca.server_context(ca.issue("site", names=("site.test", IDN_HOST))))
    port = await site.start("127.0.0.1")
    impostor = HttpServer(origin, ca.server_context(ca.issue("wrong", names=("wrong.test",))))
    await impostor.start("127.0.0.3", port)
    dns, resolver = await start_dns(Zone({"site.test": ["127.0.0.1"], "localhost.test": ["127.0.0.1"],
                                          IDN_HOST: ["127.0.0.1"]}))
    settings = HelperSettings(resolver=resolver, ca_bundle=ca.bundle, body_cap=body_cap,
                              guard=AddressGuard(allow=parse_cidrs(allow))).with_budget(8.0)
    helper_cert = ca.issue("helper", ips=("127.0.0.1",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(helper_cert.cert, helper_cert.key)
    limits = GateLimits(head_timeout_s=idle_timeout_s, keep_alive_s=idle_timeout_s,
                        handshake_timeout_s=max(1, int(idle_timeout_s)))
    helper = ControlServer(settings=settings, ssl_context=context, max_concurrency=max_concurrency,
                           limits=limits, log=None if log is None else log.append, log_clients=True)
    (_, helper_port), = await helper.start([("127.0.0.1", 0)])
    try:
        yield World(ca, helper, f"https://127.0.0.1:{helper_port}/", site, port)
    finally:
        await helper.close()
        await site.close()
        await impostor.close()
        dns.close()


async def ask(w: World, url: str, addresses: list[str]) -> ControlResponse:
    client = w.client()
    try:
        response, failure = await client.query(url, addresses)
    finally:
        await client.aclose()
    assert response is not None, failure
    return response


def test_measures_every_endpoint_and_fetches_the_page(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path) as w:
            url = f"https://site.test:{w.port}/"
            r = await ask(w, url, ["127.0.0.3", "127.0.0.2", "10.0.0.1", "not an ip"])
            assert r.helper == w.helper_url and r.client_ip == "127.0.0.1"
            assert r.dns.failure is None and r.dns.addresses == ["127.0.0.1"]
            by_ip = {e.ip: e for e in r.endpoints}
            assert set(by_ip) == {"127.0.0.1", "127.0.0.3", "127.0.0.2", "10.0.0.1"}
            good = by_ip["127.0.0.1"]
            assert good.tls_attempted and good.tls_failure is None and good.cert_valid_for_host is True
            assert good.tls_issuer == "Control Test Root CA"
            wrong = by_ip["127.0.0.3"]
            assert wrong.cert_valid_for_host is False and wrong.tls_failure == "ssl_invalid_hostname"
            assert by_ip["127.0.0.2"].tcp_failure == "connection_refused"
            assert by_ip["10.0.0.1"].tcp_failure == ADDRESS_NOT_ALLOWED
            http = r.http
            assert http is not None and http.failure is None
            assert (http.status_code, http.title, http.final_url, http.redirects) == (200, "Site", url, 0)
            assert http.body_length == len(PAGE) and http.body_sha256 == hashlib.sha256(PAGE).hexdigest()
            assert not http.body_is_truncated
            assert http.body_minhash == body_minhash(PAGE)
            assert ("content-type", "text/html") in [(h.name.lower(), h.value) for h in http.headers]
    asyncio.run(main())


def test_follows_redirects_and_stops_loops(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path) as w:
            base = f"https://site.test:{w.port}"
            r = await ask(w, base + "/redirect", [])
            assert r.http is not None and r.http.failure is None
            assert (r.http.final_url, r.http.redirects, r.http.title) == (base + "/final", 1, "Final")
            loop = await ask(w, base + "/loop", [])
            assert loop.http is not None and loop.http.redirects == 10
            assert loop.http.failure == "unknown_failure: stopped after too many redirects"
    asyncio.run(main())


def test_raw_utf8_locations_are_followed_percent_encoded_like_a_browser(tmp_path: Path) -> None:
    async def main() -> None:
        routes: dict[str, Reply] = {}
        async with world(tmp_path, routes=routes) as w:
            base = f"https://site.test:{w.port}"
            r = await ask(w, base + "/kz", [])
            assert r.http is not None and r.http.failure is None
            assert (r.http.final_url, r.http.redirects, r.http.title) == (base + ENCODED_LOCATION, 1, "Final")
            assert w.origin.requests[-1] == ENCODED_LOCATION
            # A non-ASCII host in raw UTF-8: resolved, connected (SNI) and asked for (Host) in IDNA form.
            routes["/idn"] = (302, [("Location", cast(str, f"https://пример.рф:{w.port}/путь".encode()))], b"")
            routes["/%D0%BF%D1%83%D1%82%D1%8C"] = (200, [], FINAL)
            idn = await ask(w, base + "/idn", [])
            assert idn.http is not None and idn.http.failure is None and idn.http.title == "Final"
            assert idn.http.final_url == f"https://{IDN_HOST}:{w.port}/%D0%BF%D1%83%D1%82%D1%8C"
            # The URL asked for may itself be non-ASCII (a hostile client, not the probe, sends that).
            direct = await ask(w, f"https://пример.рф:{w.port}/путь к файлу?q=ю", [])
            assert direct.http is not None and direct.http.failure is None and direct.http.title == "Final"
            assert w.origin.requests[-1] == ENCODED_LOCATION
    asyncio.run(main())


def test_unusable_redirect_locations_end_the_chain_cleanly(tmp_path: Path) -> None:
    async def main() -> None:
        routes: dict[str, Reply] = {}
        async with world(tmp_path, routes=routes) as w:
            base = f"https://site.test:{w.port}"
            for n, location in enumerate(["http://site.test:99999/", "http://site.test:0/", "http://[::1/",
                                          "http://" + "a" * 64 + ".test/", "http://a..test/", "ftp://site.test/"]):
                routes[f"/bad{n}"] = (302, [("Location", location)], b"")
                r = await ask(w, f"{base}/bad{n}", [])
                assert r.http is not None, location
                assert r.http.failure == "http_invalid_redirect_location_host", location
                assert (r.http.status_code, r.http.redirects, r.http.final_url) == (302, 0, f"{base}/bad{n}")
    asyncio.run(main())


def test_probe_addresses_are_only_ever_contacted_on_the_urls_port(tmp_path: Path) -> None:
    async def main() -> None:
        touched: list[str] = []

        async def sentinel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            touched.append("connected")
            writer.close()

        other = await asyncio.start_server(sentinel, "127.0.0.5", 0)
        other_port = int(other.sockets[0].getsockname()[1])
        routes: dict[str, Reply] = {}
        try:
            async with world(tmp_path, routes=routes) as w:
                # A redirect to another port of the same site: the hop uses the helper's own DNS only.
                routes["/elsewhere"] = (302, [("Location", f"https://site.test:{other_port}/")], b"")
                supplied = ["127.0.0.5", f"127.0.0.5:{other_port}", f"[::ffff:127.0.0.5]:{other_port}",
                            "fe80::1%lo", f"127.0.0.5 {other_port}"]
                r = await ask(w, f"https://site.test:{w.port}/elsewhere", supplied)
                assert {(e.ip, e.port) for e in r.endpoints} == {("127.0.0.1", w.port), ("127.0.0.5", w.port)}
                assert r.http is not None and r.http.redirects == 1
                assert r.http.failure == "connection_refused"  # 127.0.0.1:other_port: nothing listens
        finally:
            other.close()
        assert touched == []
    asyncio.run(main())


def test_body_reading_is_capped(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path, body_cap=64 * 1024) as w:
            r = await ask(w, f"https://site.test:{w.port}/big", [])
            assert r.http is not None and r.http.body_is_truncated and r.http.body_length == 64 * 1024
    asyncio.run(main())


def test_refuses_loopback_and_private_targets_without_allow(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path, allow=()) as w:
            r = await ask(w, f"https://site.test:{w.port}/", ["127.0.0.1", "::ffff:127.0.0.1", "169.254.1.1"])
            assert r.endpoints and all(e.tcp_failure == ADDRESS_NOT_ALLOWED for e in r.endpoints)
            assert r.http is not None and r.http.failure == ADDRESS_NOT_ALLOWED
            literal = await ask(w, f"http://127.0.0.1:{w.port}/", [])
            assert literal.http is not None and literal.http.failure == ADDRESS_NOT_ALLOWED
            assert w.origin.requests == []  # nothing reached the origin
    asyncio.run(main())


def test_redirects_are_guarded_too(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path, allow=("127.0.0.1/32",)) as w:
            r = await ask(w, f"https://site.test:{w.port}/escape", [])
            assert r.http is not None and r.http.failure == ADDRESS_NOT_ALLOWED and r.http.redirects == 1
            assert r.http.final_url == "http://10.1.2.3/"
    asyncio.run(main())


def test_overload_is_answered_503_with_retry_after(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path, max_concurrency=1) as w:
            body = json.dumps({"url": f"https://site.test:{w.port}/slow"}).encode()
            async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=w.ca.bundle)) as http:
                post = http.post(w.helper_url + "api/v1/control", content=body)
                first, second = await asyncio.gather(post, http.post(w.helper_url + "api/v1/control", content=body))
            statuses = sorted([first.status_code, second.status_code])
            assert statuses == [200, 503]
            busy = first if first.status_code == 503 else second
            assert busy.headers["retry-after"] == "1" and "overloaded" in busy.json()["error"]
    asyncio.run(main())


def test_one_probe_at_full_speed_never_meets_a_503(tmp_path: Path) -> None:
    """The client's cap (below the helper's limit) queues questions instead of overloading the helper."""
    async def main() -> None:
        lines: list[str] = []
        async with world(tmp_path, max_concurrency=4, log=lines) as w:
            client = w.client(max_connections=4)
            try:
                answers = await asyncio.gather(*(client.query(f"https://site.test:{w.port}/pause", [])
                                                 for _ in range(12)))
            finally:
                await client.aclose()
            assert all(r is not None and r.http is not None and r.http.status_code == 200 and f is None
                       for r, f in answers), answers
            assert len(lines) == 12 and not [line for line in lines if " 503 " in line]
            assert w.helper.accepted <= 4
    asyncio.run(main())


def test_the_helpers_default_limit_is_well_above_one_probes_cap() -> None:
    from probe.control.client.api import DEFAULT_MAX_CONNECTIONS, ControlClient
    from probe.control.server.app import DEFAULT_MAX_CONCURRENCY

    assert DEFAULT_MAX_CONCURRENCY >= 2 * DEFAULT_MAX_CONNECTIONS
    assert GateLimits().max_per_client >= DEFAULT_MAX_CONNECTIONS  # a probe's own connections all get in
    default = inspect.signature(ControlClient).parameters["max_connections"].default
    assert default == DEFAULT_MAX_CONNECTIONS
    assert inspect.signature(ControlServer).parameters["max_concurrency"].default == DEFAULT_MAX_CONCURRENCY


def test_hostile_urls_get_a_clean_400_or_a_failure_never_a_500(tmp_path: Path) -> None:
    async def main() -> None:
        lines: list[str] = []
        async with world(tmp_path, log=lines) as w:
            api = w.helper_url + "api/v1/control"
            refused = ["http://" + "a" * 64 + ".test/", "https://a..b/", "http://site.test:99999/",
                       "http://[::1", "http://site.test:0/", "http://site.test:-1/",
                       "http://site.test:8o/", "https://" + "a" * 64 + "/"]
            # Hosts that parse but cannot be found or asked for, and paths no request line could carry
            # as they are: an answer with the failure in it.
            failing = ["http://[::1]x/", "http://xn--/", "http://a b.test/", "http://a%00b.test/", "http://ab.test./",
                       "http://ünknown.test/",
                       f"https://site.test:{w.port}/a\x00b\r\nX-Injected: 1", f"https://site.test:{w.port}/ю ю",
                       "http://" + ".".join(["a" * 63] * 4) + "/"]
            async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=w.ca.bundle)) as http:
                for url in refused:
                    reply = await http.post(api, json={"url": url})
                    assert reply.status_code == 400, (url, reply.text)
                    assert "valid host name and port" in reply.json()["error"]
                for url in failing:
                    reply = await http.post(api, json={"url": url, "addresses": ["127.0.0.1"]})
                    assert reply.status_code == 200, (url, reply.text)
                    answer = ControlResponse.model_validate_json(reply.content)
                    assert answer.http is not None, url
                    assert answer.http.failure is not None or answer.http.status_code == 404, (url, answer)
                health = await http.get(w.helper_url + "api/v1/health")
                assert health.status_code == 200
            assert not [line for line in lines if " 500 " in line]
            # What reached the origin: printable ASCII request targets only, the CR LF gone (no header).
            assert "/a%00bX-Injected:%201" in w.origin.requests and "/%D1%8E%20%D1%8E" in w.origin.requests
            assert all(re.fullmatch(r"[\x21-\x7e]+", t) for t in w.origin.requests), w.origin.requests
    asyncio.run(main())


def test_bad_requests_get_clear_errors_and_the_connection_survives(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path) as w:
            api = w.helper_url + "api/v1/control"
            async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=w.ca.bundle)) as http:
                bad_json = await http.post(api, content=b"{not json")
                assert bad_json.status_code == 400 and "bad request" in bad_json.json()["error"]
                unknown_key = await http.post(api, json={"url": "https://a.test/", "evil": 1})
                assert unknown_key.status_code == 400 and "evil" in unknown_key.json()["error"]
                ftp = await http.post(api, json={"url": "ftp://a.test/"})
                assert ftp.status_code == 400 and "http(s)" in ftp.json()["error"]
                huge = await http.post(api, content=b"x" * 20_000)
                assert huge.status_code == 413
                assert (await http.get(api)).status_code == 405
                assert (await http.get(w.helper_url + "nope")).status_code == 404
                health = await http.get(w.helper_url + "api/v1/health")
                assert health.status_code == 200 and health.json()["status"] == "ok"
    asyncio.run(main())


async def _poke(port: int, payload: bytes, context: ssl.SSLContext | None) -> bytes:
    """Send hostile bytes and read what comes back until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)
    except (ConnectionError, ssl.SSLError):
        return b""
    finally:
        writer.close()


def test_hostile_bytes_never_take_the_server_down(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path, idle_timeout_s=1.0) as w:
            port = int(w.helper_url.rsplit(":", 1)[1].strip("/"))
            context = ssl.create_default_context(cafile=w.ca.bundle)
            rng = random.Random(7)
            payloads = [b"GARBAGE\r\n\r\n", b"POST /api/v1/control HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                        b"POST /api/v1/control HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                        b"POST /api/v1/control HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{",
                        b"\x00" * 5000] + [rng.randbytes(rng.randrange(1, 3000)) for _ in range(20)]
            answers = await asyncio.gather(*(_poke(port, p, context) for p in payloads),
                                           _poke(port, b"GET / HTTP/1.1\r\n\r\n", None))  # no TLS at all
            assert answers[0].startswith(b"HTTP/1.1 400")
            assert all(a == b"" or a.startswith(b"HTTP/1.1 4") for a in answers)
            r = await ask(w, f"https://site.test:{w.port}/", [])
            assert r.http is not None and r.http.status_code == 200
    asyncio.run(main())


def test_one_connection_carries_many_queries(tmp_path: Path) -> None:
    async def main() -> None:
        async with world(tmp_path) as w:
            client = w.client()
            try:
                for _ in range(3):
                    response, failure = await client.query(f"https://site.test:{w.port}/final", [])
                    assert response is not None, failure
            finally:
                await client.aclose()
            assert w.helper.accepted == 1
    asyncio.run(main())


def test_log_clients_names_the_requester_only_when_asked(tmp_path: Path) -> None:
    async def main() -> None:
        lines: list[str] = []
        async with world(tmp_path, log=lines) as w:
            await ask(w, f"https://site.test:{w.port}/final", [])
        assert len(lines) == 1 and lines[0].startswith("POST /api/v1/control 200 ")
        assert lines[0].endswith(" site.test client=127.0.0.1")
    asyncio.run(main())
