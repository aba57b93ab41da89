"""TCP and TLS rules: failures vs the control, SNI filtering by decoy, MITM, the site's own certificate."""

from __future__ import annotations

import pytest
from test_classify_builders import (
    DECOY,
    HOST,
    IP,
    IP2,
    URL,
    Build,
    context,
    control_endpoint,
    control_http,
)

from probe.classify import ClassifyContext

QAZNET = "CN=Qaznet Trust Network"
V6 = "2001:db8:1::10"


@pytest.mark.parametrize(("failure", "label"), [
    ("generic_timeout_error", "tcp.timeout"),
    ("connection_reset", "tcp.reset"),
    ("connection_refused", "tcp.refused"),
    ("host_unreachable", "tcp.refused"),
])
def test_connect_fails_where_the_control_connects(failure: str, label: str) -> None:
    v = (Build().dns().connect(failure=failure, dur=10.0 if "timeout" in failure else 0.01).with_control()
         .stop(failure, "connect").verdict())
    assert (v.label, v.confidence, v.blocking, v.accessible) == (label, "likely", "tcp_ip", False)
    assert f"{IP}:443 failed with {failure}" in v.reasons[0]
    assert "control connected" in v.reasons[1]


def test_every_address_of_a_dual_stack_site_blackholed() -> None:
    b = Build().dns(HOST, IP, IP2, V6)
    for ip in (IP, IP2, V6):
        b.connect(ip, failure="generic_timeout_error", dur=10.0)
    v = (b.with_control(addresses=(IP, IP2, V6)).stop("generic_timeout_error", "connect")
         .verdict(_lab_ctx()))
    assert v.label == "tcp.timeout"
    assert "and" in v.reasons[0] or V6 in v.reasons[0]


def _lab_ctx() -> ClassifyContext:
    return context(not_bogon=["2001:db8::/32"])  # V6 is a documentation address


def test_connection_refused_everywhere_is_down() -> None:
    # OONI websiteDownTCPConnect
    v = (Build("http://selftanu.kz:444/").dns().connect(port=444, failure="connection_refused")
         .with_control(endpoints=[control_endpoint(port=444, tcp_failure="connection_refused")],
                       http=control_http(failure="connection_refused"))
         .stop("connection_refused", "connect").verdict())
    assert (v.label, v.blocking, v.accessible) == ("down", False, False)


def test_probe_without_ipv6_route_is_not_tcp_blocking() -> None:
    b = Build().dns(HOST, IP, V6).connect(V6, failure="network_unreachable").connect(IP).handshake(IP).get()
    v = b.with_control(addresses=(IP, V6)).verdict(_lab_ctx())
    assert v.label == "ok"


def test_probe_network_broken_is_inconclusive() -> None:
    v = (Build().dns().connect(failure="network_unreachable").with_control()
         .stop("network_unreachable", "connect").verdict())
    assert (v.label, v.blocking) == ("inconclusive", None)
    assert "own host or network" in " ".join(v.reasons)


def test_tcp_failure_without_control_is_inconclusive() -> None:
    v = Build().dns().connect(failure="generic_timeout_error").no_control().stop(
        "generic_timeout_error", "connect").verdict()
    assert v.label == "inconclusive"
    assert "control helpers unreachable" in " ".join(v.reasons)


def test_sni_filtering_shown_by_the_decoy() -> None:
    v = (Build().dns().connect().handshake(failure="generic_timeout_error", dur=3.0).decoy(dur=0.01)
         .with_control().stop("generic_timeout_error", "tls_handshake").verdict())
    assert (v.label, v.confidence, v.blocking, v.sni_filtering) == ("tls.timeout", "likely", "http-failure", True)
    assert v.reasons[0] == (f"TLS handshake with SNI {HOST} to {IP}:443 failed with generic_timeout_error "
                            "after 3.0 s; the control completed it.")
    assert v.reasons[1].startswith(f"A handshake to the same address with SNI {DECOY} succeeded in 0.01 s")


@pytest.mark.parametrize(("failure", "label"), [
    ("connection_reset", "tls.reset"),
    ("eof_error", "tls.eof"),
    ("ssl_failed_handshake", "tls.alert"),
    ("connection_aborted", "tls.reset"),
])
def test_handshake_interference_labels(failure: str, label: str) -> None:
    v = (Build().dns().connect().handshake(failure=failure).decoy().with_control()
         .stop(failure, "tls_handshake").verdict())
    assert (v.label, v.sni_filtering) == (label, True)


def test_decoy_failing_too_means_the_address_is_blocked() -> None:
    v = (Build().dns().connect().handshake(failure="connection_reset").decoy(failure="connection_reset")
         .with_control().stop("connection_reset", "tls_handshake").verdict())
    assert (v.label, v.sni_filtering) == ("tls.reset", False)
    assert "the address is blocked" in v.reasons[1]


def test_handshake_failing_for_the_control_too_is_down() -> None:
    v = (Build().dns().connect().handshake(failure="ssl_failed_handshake").decoy(failure="ssl_failed_handshake")
         .with_control(endpoints=[control_endpoint(tls_failure="ssl_failed_handshake", valid=None)],
                       http=control_http(failure="ssl_failed_handshake"))
         .stop("ssl_failed_handshake", "tls_handshake").verdict())
    assert v.label == "down"


def test_sni_filtering_without_control_is_possible() -> None:
    v = (Build().dns().connect().handshake(failure="generic_timeout_error", dur=10.0).decoy().no_control()
         .stop("generic_timeout_error", "tls_handshake").verdict())
    assert (v.label, v.confidence, v.sni_filtering) == ("tls.timeout", "possible", True)


def test_interference_without_decoy_and_control_is_inconclusive() -> None:
    v = (Build().dns().connect().handshake(failure="connection_reset").no_control()
         .stop("connection_reset", "tls_handshake").verdict())
    assert v.label == "inconclusive"


def test_mitm_chain_where_the_control_validates() -> None:
    issuer = "CN=Security Certificate,O=Kazakhtelecom"
    v = (Build().dns().connect().handshake(failure="ssl_unknown_authority", issuer=issuer)
         .with_control().stop("ssl_unknown_authority", "tls_handshake").verdict())
    assert (v.label, v.confidence, v.blocking, v.mitm_issuer) == ("tls.mitm", "confirmed", "http-failure", issuer)
    assert issuer in v.reasons[0] and "intercepted" in v.reasons[1]


@pytest.mark.parametrize(("issuer", "name"), [(QAZNET, "kz.mitm_qaznet"),
                                               ("CN=Information Security Certification Authority",
                                                "kz.mitm_isca_2020")])
def test_known_interception_ca_is_named_even_without_control(issuer: str, name: str) -> None:
    v = (Build().dns().connect().handshake(failure="ssl_unknown_authority", issuer="CN=KZ intermediate", root=issuer)
         .no_control().stop("ssl_unknown_authority", "tls_handshake").verdict())
    assert (v.label, v.confidence, v.fingerprint) == ("tls.mitm", "confirmed", name)
    assert v.mitm_issuer == "CN=KZ intermediate"


def test_mitm_on_a_redirect_hop() -> None:
    short = "http://bit.kz/who"
    target = "https://who.int/"
    v = (Build(short).dns("bit.kz", IP2).ok_hop(short, ip=IP2, status=301, body=b"", headers={"Location": target})
         .dns("who.int", IP).connect(IP).handshake(IP, "who.int", failure="ssl_unknown_authority", root=QAZNET)
         .with_control(addresses=(IP2,), endpoints=[control_endpoint(IP2, port=80, valid=None)],
                       http=control_http(redirects=1, final_url=target))
         .stop("ssl_unknown_authority", "tls_handshake").verdict())
    assert (v.label, v.fingerprint) == ("tls.mitm", "kz.mitm_qaznet")


@pytest.mark.parametrize("failure", ["ssl_invalid_certificate", "ssl_invalid_hostname", "ssl_unknown_authority"])
def test_the_sites_own_bad_certificate_is_down(failure: str) -> None:
    # OONI badSSL*: expired, wrong host, self-signed; the control sees the same
    v = (Build().dns().connect().handshake(failure=failure, issuer="CN=selftanu.kz")
         .with_control(endpoints=[control_endpoint(valid=False, issuer="CN=selftanu.kz")],
                       http=control_http(failure=failure))
         .stop(failure, "tls_handshake").verdict())
    assert (v.label, v.blocking) == ("down", False)
    assert "the site's own" in v.reasons[1]


def test_same_issuer_as_the_control_points_at_the_probe_not_the_path() -> None:
    v = (Build().dns().connect().handshake(failure="ssl_invalid_certificate")
         .with_control().stop("ssl_invalid_certificate", "tls_handshake").verdict())
    assert v.label == "inconclusive"
    assert "clock" in v.reasons[1]


def test_throttling_by_sni() -> None:
    v = (Build().dns().connect().handshake(dur=4.2).decoy(dur=0.05).get().with_control().verdict())
    assert (v.label, v.confidence, v.blocking, v.accessible) == ("tls.throttled", "likely", False, True)
    assert "4.2 s" in v.reasons[0] and "0.05 s" in v.reasons[0]
    assert not v.blocked


@pytest.mark.parametrize(("real", "decoy"), [(1.2, 0.5), (0.9, 0.01), (1.1, 0.7)])
def test_slow_but_not_throttled(real: float, decoy: float) -> None:
    v = Build().dns().connect().handshake(dur=real).decoy(dur=decoy).get().with_control().verdict()
    assert v.label == "ok"


def test_throttled_then_timed_out_is_an_http_timeout_with_the_throttling_noted() -> None:
    v = (Build().dns().connect().handshake(dur=3.0).decoy(dur=0.02).get(failure="generic_timeout_error", dur=15)
         .with_control().stop("generic_timeout_error", "http_round_trip").verdict())
    assert v.label == "http.timeout"
    assert any(r.startswith("Also:") and "slowed" in r for r in v.reasons)


def test_throttling_needs_no_control() -> None:
    v = Build().dns().connect().handshake(dur=3.0).decoy(dur=0.02).get().no_control().verdict()
    assert v.label == "tls.throttled"


def test_sni_drop_on_the_second_hop_is_judged_there() -> None:
    # OONI redirectWithConsistentDNSAndThenTimeoutForHTTPS; the helper measured only the first host
    short = "http://bit.kz/selftanu"
    v = (Build(short).dns("bit.kz", IP2).ok_hop(short, ip=IP2, status=301, body=b"", headers={"Location": URL})
         .dns(HOST, IP).connect(IP).handshake(IP, failure="generic_timeout_error", dur=10.0).decoy(IP)
         .with_control(addresses=(IP2,), endpoints=[control_endpoint(IP2, port=80, valid=None)],
                       http=control_http(redirects=1))
         .stop("generic_timeout_error", "tls_handshake").verdict())
    assert (v.label, v.confidence, v.sni_filtering) == ("tls.timeout", "likely", True)
    assert HOST in v.reasons[0]


def test_refused_on_the_second_hop() -> None:
    short = "https://bit.kz/selftanu"
    v = (Build(short).dns("bit.kz", IP2).ok_hop(short, ip=IP2, status=302, body=b"", headers={"Location": URL})
         .dns(HOST, IP).connect(IP, failure="connection_refused")
         .with_control(addresses=(IP2,), endpoints=[control_endpoint(IP2)], http=control_http(redirects=1))
         .stop("connection_refused", "connect").verdict())
    assert v.label == "tcp.refused"


def test_one_address_failing_while_another_serves_the_page_is_ok() -> None:
    b = (Build().dns(HOST, IP, IP2).connect(IP, failure="generic_timeout_error").connect(IP2).handshake(IP2)
         .get(ip=IP2).with_control(addresses=(IP, IP2)))
    assert b.verdict().label == "ok"
