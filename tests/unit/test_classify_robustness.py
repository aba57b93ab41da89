"""Classification never raises: hostile wire data (Location headers, URLs, addresses, titles) and odd but
valid measurements (no validation, no control page, status 0 or 999, pruned bodies) all get a verdict."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_classify_builders import HOST, IP, URL, Build, control_endpoint, control_http

from probe.classify.view import build_hops, follow_location
from probe.models import (
    VERDICT_LABELS,
    ControlEndpoint,
    ControlHTTP,
    ControlResponse,
    DNSAnswer,
    DNSQueryObservation,
    HTTPHeader,
    Verdict,
)
from probe.models.control import ControlDNS
from probe.web.location import browser_location

HTTP_URL = f"http://{HOST}/"
# Locations no browser can follow (the engine stops with http_invalid_redirect_location_host) ...
UNFOLLOWABLE = [
    "http://x:99999/", "http://x:-1/", "http://x:port/", "http://[::1/x", "http://]/", "//[",
    "http://" + "a" * 64 + ".kz/", "http://" + "é" * 70 + ".kz/", "http://a..b/", "http://ex\u2100ample.com/",
    "http://\ud800.kz/", "/\ud800", "ftp://selftanu.kz/", "javascript:alert(1)",
]
# ... and odd ones it follows somewhere.
ODD = ["http://[::1]x/", "http:///no-host", "", " ", "\x00", "http://%zz/", "https://[fe80::1%25eth0]/",
       "http://selftanu.kz:0/"]
HOSTILE_LOCATIONS = UNFOLLOWABLE + ODD
_ADDRESSES = st.sampled_from(["93.184.215.14", "127.0.0.1", "::1", "64:ff9b::5db8:d70e", "::ffff:10.0.0.1",
                              "fe80::1%eth0", "", "0", "[::1]", "not an address"]) | st.text(max_size=20)
_HEADER_NAMES = st.sampled_from(["Location", "Content-Type", "Server", "X-Cache-Id"]) | st.text(max_size=20)
_HEADERS = st.lists(st.tuples(_HEADER_NAMES, st.text(max_size=40)), max_size=4)


def _stopped_after_redirect(location: str, status: int = 302) -> Build:
    """A redirect, then the measurement stopped connecting to where the engine went next."""
    return (Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, status=status, body=b"",
                                                       headers={"Location": location})
            .dns("elsewhere.kz").connect(IP, 443, failure="connection_reset").with_control()
            .stop("connection_reset", "connect"))


def _valid(v: Verdict) -> None:
    assert v.label in VERDICT_LABELS and v.reasons and all(r.strip() for r in v.reasons)


@pytest.mark.parametrize("location", HOSTILE_LOCATIONS)
def test_a_hostile_location_is_no_next_hop(location: str) -> None:
    b = _stopped_after_redirect(location)
    if location in UNFOLLOWABLE:
        assert follow_location(HTTP_URL, location) is None
        assert len(build_hops(b.measurement())) == 1  # the redirect led nowhere the rules can follow
    _valid(b.verdict())
    # the engine's own shape: it refused to follow the Location
    b = (Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, status=301, body=b"", headers={"Location": location})
         .with_control().stop("http_invalid_redirect_location_host", "http_round_trip"))
    _valid(b.verdict())


@pytest.mark.parametrize("url", ["http://[::1/x", "http://x:99999/", "http://ex\u2100ample.com/", "", "\ud800"])
def test_a_hostile_request_or_input_url_still_gets_a_verdict(url: str) -> None:
    b = Build(url).dns().connect(IP, 80).get(url, status=302, body=b"", headers={"Location": "/next"})
    b.connect(IP, 80, failure="generic_timeout_error").with_control(http=control_http(final_url=url))
    _valid(b.stop("generic_timeout_error", "connect").verdict())


def test_a_good_location_is_still_followed_as_the_engine_does() -> None:
    b = _stopped_after_redirect("//ELSEWHERE.kz/path?q=1")
    hops = build_hops(b.measurement())
    assert (len(hops), hops[1].url, hops[1].host, hops[1].port) == (2, "http://elsewhere.kz/path?q=1",
                                                                    "elsewhere.kz", 80)
    mojibake = "https://сайт.kz:8443/путь".encode().decode("latin-1")  # raw UTF-8 as h11 hands it over
    assert follow_location(URL, mojibake) == browser_location(URL, mojibake)
    assert follow_location(URL, mojibake) == "https://xn--80aswg.kz:8443/%D0%BF%D1%83%D1%82%D1%8C"


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from([URL, HTTP_URL, "http://[::1]:8080/a/b"]) | st.text(max_size=30),
       location=st.sampled_from(HOSTILE_LOCATIONS) | st.text(max_size=60))
def test_follow_location_is_the_engines_redirect_rule(base: str, location: str) -> None:
    try:
        engine = browser_location(base, location)
    except UnicodeEncodeError:  # a lone surrogate: h11 never hands one over, so the engine never sees it
        engine = None
    assert follow_location(base, location) == engine


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(location=st.sampled_from(HOSTILE_LOCATIONS) | st.text(max_size=80),
       status=st.sampled_from([301, 302, 303, 307, 308]) | st.integers(0, 999),
       headers=_HEADERS, title=st.none() | st.text(max_size=60),
       control_title=st.none() | st.text(max_size=60), final_url=st.none() | st.text(max_size=40),
       control_headers=_HEADERS, stop=st.sampled_from(["connect", "resolve", "tls_handshake", None]))
def test_classify_never_raises_on_arbitrary_locations_headers_and_titles(
        location: str, status: int, headers: list[tuple[str, str]], title: str | None, control_title: str | None,
        final_url: str | None, control_headers: list[tuple[str, str]], stop: str | None) -> None:
    b = Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, status=status, body=b"<p>moved</p>",
                                                   headers={"Location": location, **dict(headers)})
    if stop == "resolve":
        b.dns("elsewhere.kz", failure="dns_nxdomain_error")
    elif stop == "connect":
        b.connect(IP, 443, failure="generic_timeout_error")
    elif stop == "tls_handshake":
        b.connect(IP, 443).handshake(IP, "elsewhere.kz", failure="ssl_invalid_hostname")
    b.with_control(http=ControlHTTP(status_code=200, title=control_title, body_length=10, final_url=final_url,
                                    headers=[HTTPHeader(name=k, value=v) for k, v in control_headers]))
    if stop is not None:
        b.stop("some_failure", stop)
    response = b.requests[0].response
    assert response is not None
    b.requests[0] = b.requests[0].model_copy(update={"response": response.model_copy(update={"title": title})})
    _valid(b.verdict())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=st.lists(_ADDRESSES, max_size=3), control_addresses=st.lists(_ADDRESSES, max_size=3),
       endpoint_ip=_ADDRESSES, connect_ip=_ADDRESSES,
       host=st.sampled_from([HOST, "127.0.0.1", ""]) | st.text(max_size=20))
def test_classify_never_raises_on_arbitrary_addresses(answers: list[str], control_addresses: list[str],
                                                      endpoint_ip: str, connect_ip: str, host: str) -> None:
    b = Build().dns().connect(connect_ip, failure="generic_timeout_error").with_control(
        addresses=control_addresses, endpoints=[control_endpoint(endpoint_ip)]).stop("generic_timeout_error",
                                                                                     "connect")
    b.queries = [q.model_copy(update={"hostname": host, "answers": [
        DNSAnswer(answer_type="A", ipv4=a) for a in answers]}) for q in b.queries]
    _valid(b.verdict())


# --- odd but valid ---------------------------------------------------------------------------------------

def test_lookups_with_empty_answer_lists() -> None:
    b = Build().dns()
    b.queries = [q.model_copy(update={"answers": [], "failure": None}) for q in b.queries]
    v = b.with_control().stop("dns_no_answer", "resolve").verdict()
    assert v.label == "dns.nxdomain"  # NOERROR without an address: the name has none for the probe


def test_an_invalid_chain_without_validation_details() -> None:
    b = Build().dns().connect().handshake(failure="ssl_unknown_authority").with_control()
    b.tls[-1] = b.tls[-1].model_copy(update={"validation": None})
    v = b.stop("ssl_unknown_authority", "tls_handshake").verdict()
    assert (v.label, v.mitm_issuer) == ("tls.mitm", None)
    assert "issued by" not in v.reasons[0]


def test_a_forged_answer_whose_handshake_has_no_validation_details() -> None:
    other = "185.12.10.9"
    b = Build().dns(HOST, other).connect(other).handshake(other, failure="ssl_invalid_hostname").with_control()
    b.tls[-1] = b.tls[-1].model_copy(update={"validation": None})
    assert b.stop("ssl_invalid_hostname", "tls_handshake").verdict().label == "dns.redirect"


def _endpoints_only(b: Build) -> Build:
    """A control that measured the addresses but has no page (http None)."""
    b.with_control(endpoints=[control_endpoint()])
    assert b.control is not None
    b.control = b.control.model_copy(update={"http": None})
    return b


@pytest.mark.parametrize(("build", "label"), [
    (lambda: Build().dns().connect(failure="generic_timeout_error").stop("generic_timeout_error", "connect"),
     "tcp.timeout"),
    (lambda: Build().dns().connect().handshake(failure="connection_reset").decoy()
     .stop("connection_reset", "tls_handshake"), "tls.reset"),
    (lambda: Build().dns().connect().get(failure="connection_reset").stop("connection_reset", "http_round_trip"),
     "inconclusive"),
    (lambda: Build().dns().ok_hop(), "inconclusive"),
    (lambda: Build().dns(HOST, failure="dns_nxdomain_error").stop("dns_nxdomain_error", "resolve"), "dns.nxdomain"),
])
def test_a_control_with_endpoints_but_no_page(build: Callable[[], Build], label: str) -> None:
    v = _endpoints_only(build()).verdict()
    assert v.label == label, v.reasons


@pytest.mark.parametrize("status", [0, 999, 199, 600])
def test_odd_status_codes(status: int) -> None:
    v = Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, status=status).with_control().verdict()
    assert v.label == "ok"  # the same page, whatever the status says
    assert f"status {status}" in v.reasons[0]
    v = Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, status=status, body=b"<p>other</p>").with_control()\
        .verdict()
    assert v.label == "http.diff"


def test_a_3xx_without_location_is_the_final_page() -> None:
    b = Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, status=302, headers={}).with_control(status=302)
    assert len(build_hops(b.measurement())) == 1
    _valid(b.verdict())


def test_bodies_missing_from_every_hop() -> None:
    b = (Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL, status=302, body=b"moved",
                                                    headers={"Location": URL})
         .connect().handshake().get(URL, keep_body=False).with_control())
    v = b.verdict(bodies={})
    assert v.label == "ok"
    assert sum("not at hand" in r for r in v.reasons) == 2
    # a body length without a hash: nothing was recorded
    response = b.requests[-1].response
    assert response is not None
    b.requests[-1] = b.requests[-1].model_copy(update={"response": response.model_copy(update={"body_sha256": None})})
    assert any("not recorded" in r for r in b.verdict(bodies={}).reasons)


def test_a_control_page_without_a_sketch_or_length() -> None:
    b = Build(HTTP_URL).dns().connect(IP, 80).get(HTTP_URL).with_control(http=ControlHTTP(status_code=200))
    _valid(b.verdict())


def test_a_measurement_with_nothing_in_it() -> None:
    b = Build()
    assert len(build_hops(b.measurement())) == 1
    _valid(b.verdict())
    b.control = ControlResponse(helper="h", dns=ControlDNS(addresses=["not an address"]),
                                endpoints=[ControlEndpoint(ip="?", port=0)])
    _valid(b.verdict())


def test_a_getaddrinfo_success_with_no_answers_and_an_unparseable_udp_answer() -> None:
    b = Build()
    b.queries = [DNSQueryObservation(engine="getaddrinfo", resolver_address="", hostname=HOST, query_type="ANY",
                                     t0=0, t=0.01),
                 DNSQueryObservation(engine="udp", resolver_address="10.0.0.53:53", hostname=HOST, query_type="A",
                                     t0=0, t=0.01, rcode="NOERROR", answers=[DNSAnswer(answer_type="A", ipv4="x")])]
    b.clock = 0.02
    _valid(b.ok_hop().with_control().verdict())
