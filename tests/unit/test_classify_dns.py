"""DNS rules: probe-only failures, bogons, known censor answers, redirects vs CDNs, injection."""

from __future__ import annotations

import pytest
from test_classify_builders import HOST, IP, IP2, URL, Build, context, control_endpoint, control_http, healthy

from probe.models import DNSAnswer, DNSReply

HTTP_URL = f"http://{HOST}/"
OTHER = "203.0.113.77"  # documentation range: a bogon by default, so tests pass it as not_bogon
PUBLIC_OTHER = "185.12.10.9"
BLOCKPAGE_BODY = ("<html><title>Доступ ограничен</title><body>Доступ к информационному ресурсу ограничен</body>"
                  "</html>").encode()


@pytest.mark.parametrize(("failure", "label"), [
    ("dns_nxdomain_error", "dns.nxdomain"),
    ("android_dns_cache_no_data", "dns.nxdomain"),
    ("dns_servfail_error", "dns.servfail"),
    ("dns_refused_error", "dns.refused"),
    ("generic_timeout_error", "dns.timeout"),
])
def test_failure_only_on_the_probe_side(failure: str, label: str) -> None:
    v = Build().dns(HOST, failure=failure).with_control().stop(failure, "resolve").verdict()
    assert (v.label, v.confidence, v.blocking, v.accessible) == (label, "likely", "dns", False)
    assert failure in v.reasons[0] and HOST in v.reasons[0]
    assert IP in v.reasons[1]


def test_system_resolver_eai_again_with_udp_timeouts_is_a_timeout() -> None:
    b = Build().dns(HOST, failure="generic_timeout_error")
    b.queries[0] = b.queries[0].model_copy(update={"failure": "dns_temporary_failure"})
    v = b.with_control().stop("dns_temporary_failure", "resolve").verdict()
    assert v.label == "dns.timeout"


def test_nxdomain_everywhere_is_down() -> None:
    v = (Build().dns(HOST, failure="dns_nxdomain_error")
         .with_control(addresses=(), dns_failure="dns_nxdomain_error", http=control_http(failure="dns_nxdomain_error"))
         .stop("dns_nxdomain_error", "resolve").verdict())
    assert (v.label, v.blocking, v.accessible) == ("down", False, False)
    assert "resolves nowhere" in " ".join(v.reasons)


def test_no_addresses_anywhere_is_down() -> None:
    v = (Build().dns(HOST, failure="dns_no_answer").with_control(addresses=(), http=control_http(
        failure="dns_no_answer")).stop("dns_no_answer", "resolve").verdict())
    assert v.label == "down"


def test_dns_failure_without_control_is_inconclusive() -> None:
    v = Build().dns(HOST, failure="dns_nxdomain_error").no_control().stop("dns_nxdomain_error", "resolve").verdict()
    assert (v.label, v.blocking, v.accessible) == ("inconclusive", None, None)


def test_probe_network_down_is_not_censorship() -> None:
    v = (Build().dns(HOST, failure="network_unreachable").with_control()
         .stop("network_unreachable", "resolve").verdict())
    assert v.label == "inconclusive"


@pytest.mark.parametrize("bogon", ["127.0.0.1", "0.0.0.0", "10.77.250.1", "192.168.1.1", "::1", "fe80::1"])
def test_bogon_answer_is_confirmed_forgery(bogon: str) -> None:
    port = 443
    v = (Build().dns(HOST, bogon).connect(bogon, port, failure="connection_refused").with_control()
         .stop("connection_refused", "connect").verdict())
    assert (v.label, v.confidence, v.blocking) == ("dns.bogon", "confirmed", "dns")
    assert bogon in v.reasons[0] and IP in v.reasons[1]


def test_lab_ranges_declared_public_are_not_bogons() -> None:
    lab_site = "198.18.1.1"
    b = Build().dns(HOST, lab_site).ok_hop(ip=lab_site).with_control(addresses=(lab_site,))
    assert b.verdict(context(not_bogon=["198.18.0.0/15"])).label == "ok"
    # and the probe is not fooled either way when both sides see the same reserved address
    assert b.verdict().label == "ok"


def test_site_that_resolves_to_localhost_everywhere_is_down() -> None:
    # OONI localhostWithHTTP: the helper refuses to measure 127.0.0.1 and cannot fetch either
    b = (Build(HTTP_URL).dns(HOST, "127.0.0.1").connect("127.0.0.1", 80, failure="connection_refused")
         .with_control(addresses=("127.0.0.1",), endpoints=[control_endpoint(
             "127.0.0.1", tcp_failure="unknown_failure: address not allowed", port=80)],
             http=control_http(failure="connection_refused"))
         .stop("connection_refused", "connect"))
    v = b.verdict()
    assert (v.label, v.blocking) == ("down", False)
    assert not any("address not allowed" in r for r in v.reasons)


def test_bogon_without_control_is_inconclusive() -> None:
    v = (Build().dns(HOST, "127.0.0.1").connect("127.0.0.1", failure="connection_refused").no_control()
         .stop("connection_refused", "connect").verdict())
    assert v.label == "inconclusive"
    assert "127.0.0.1" in " ".join(v.reasons)


def test_known_censor_address_from_ooni_dns_file() -> None:
    v = (Build(HTTP_URL).dns(HOST, "8.7.198.45").connect("8.7.198.45", 80, failure="generic_timeout_error")
         .no_control().stop("generic_timeout_error", "connect").verdict())
    assert (v.label, v.confidence, v.fingerprint) == ("dns.redirect", "confirmed", "ooni.cn_0")


def test_known_censor_cname() -> None:
    b = Build(HTTP_URL).dns(HOST, PUBLIC_OTHER)
    q = b.queries[1]
    b.queries[1] = q.model_copy(update={"answers": [DNSAnswer(answer_type="CNAME", hostname="restricted.tri.co.id.")]
                                        + q.answers})
    v = b.ok_hop(HTTP_URL, ip=PUBLIC_OTHER).with_control().verdict()
    assert (v.label, v.fingerprint) == ("dns.redirect", "ooni.id_41")


def test_other_address_with_a_certificate_for_another_name_is_a_redirect() -> None:
    # OONI badSSLWithUnknownAuthorityWithInconsistentDNS
    v = (Build().dns(HOST, PUBLIC_OTHER).connect(PUBLIC_OTHER).handshake(PUBLIC_OTHER, failure="ssl_invalid_hostname",
                                                                         issuer="CN=Other Hosting CA")
         .with_control(endpoints=[control_endpoint(IP), control_endpoint(PUBLIC_OTHER, valid=False,
                                                                         issuer="CN=Other Hosting CA")])
         .stop("ssl_invalid_hostname", "tls_handshake").verdict())
    assert (v.label, v.confidence, v.blocking) == ("dns.redirect", "likely", "dns")
    text = " ".join(v.reasons)
    assert "not valid" in text and PUBLIC_OTHER in text


def test_cdn_address_that_validates_is_consistent() -> None:
    # OONI dnsHijackingToProxyWithHTTPSURL / our cdn_geo_https: another node, valid certificate
    v = Build().dns(HOST, IP2).ok_hop(ip=IP2).with_control(addresses=(IP,)).verdict()
    assert v.label == "ok"
    assert any("CDN" in r for r in v.reasons)


def test_cdn_address_the_control_validates_is_consistent_even_if_the_probe_did_not_handshake() -> None:
    b = (Build(HTTP_URL).dns(HOST, IP2).connect(IP2, 80, failure="generic_timeout_error")
         .with_control(addresses=(IP,), endpoints=[control_endpoint(IP), control_endpoint(IP2)])
         .stop("generic_timeout_error", "connect"))
    v = b.verdict()
    assert v.label == "tcp.timeout"  # the address is the site's: what failed is TCP, not DNS


def test_transparent_proxy_serving_the_real_page_is_ok() -> None:
    # OONI dnsHijackingToProxyWithHTTPURL / our cdn_geo_http: other address, plain HTTP, same page
    v = (Build(HTTP_URL).dns(HOST, IP2).ok_hop(HTTP_URL, ip=IP2)
         .with_control(addresses=(IP,), endpoints=[control_endpoint(IP, port=80, valid=None)]).verdict())
    assert (v.label, v.blocking) == ("ok", False)
    assert any("transparent proxy" in r for r in v.reasons)


def test_redirect_to_a_server_with_another_page_is_dns_redirect() -> None:
    # OONI httpDiffWithInconsistentDNS (no fingerprint)
    other = b"<html><title>Notice</title><body>This page is not available.</body></html>"
    v = (Build(HTTP_URL).dns(HOST, PUBLIC_OTHER).ok_hop(HTTP_URL, ip=PUBLIC_OTHER, body=other)
         .with_control().verdict())
    assert (v.label, v.confidence, v.fingerprint) == ("dns.redirect", "likely", None)
    assert any(r.startswith("Also:") and "Notice" in r for r in v.reasons)


def test_redirect_to_a_blockpage_names_the_fingerprint() -> None:
    v = (Build(HTTP_URL).dns(HOST, PUBLIC_OTHER).ok_hop(HTTP_URL, ip=PUBLIC_OTHER, status=403, body=BLOCKPAGE_BODY)
         .with_control().verdict())
    assert (v.label, v.confidence, v.fingerprint) == ("dns.redirect", "confirmed", "kz.ru_info_resource_restricted")
    assert any("kz.ru_info_resource_restricted" in r for r in v.reasons)


def test_redirect_to_an_address_that_refuses_everyone() -> None:
    # OONI tcpBlockingConnectionRefusedWithInconsistentDNS / our dns_redirect_blockpage_https
    v = (Build().dns(HOST, PUBLIC_OTHER).connect(PUBLIC_OTHER, failure="connection_refused")
         .with_control(endpoints=[control_endpoint(IP), control_endpoint(PUBLIC_OTHER,
                                                                        tcp_failure="connection_refused")])
         .stop("connection_refused", "connect").verdict())
    assert v.label == "dns.redirect"


def test_redirect_plus_sni_reset_is_dns_first() -> None:
    # OONI tlsBlockingConnectionResetWithInconsistentDNS
    v = (Build().dns(HOST, PUBLIC_OTHER).connect(PUBLIC_OTHER).handshake(PUBLIC_OTHER, failure="connection_reset")
         .decoy(PUBLIC_OTHER)
         .with_control(endpoints=[control_endpoint(IP), control_endpoint(PUBLIC_OTHER, valid=False)])
         .stop("connection_reset", "tls_handshake").verdict())
    assert v.label == "dns.redirect"


def test_ghost_domain_answered_by_the_isp_is_a_redirect() -> None:
    # OONI ghostDNSBlockingWithHTTP: the name no longer exists, the ISP resolver still answers
    v = (Build(HTTP_URL).dns(HOST, PUBLIC_OTHER).ok_hop(HTTP_URL, ip=PUBLIC_OTHER, body=BLOCKPAGE_BODY)
         .with_control(addresses=(), dns_failure="dns_nxdomain_error", http=control_http(failure="dns_nxdomain_error"))
         .verdict())
    assert v.label == "dns.redirect"
    assert "does not exist" in v.reasons[0]


def test_ipv4_mapped_and_nat64_answers_compare_with_the_control() -> None:
    nat64 = "64:ff9b::5db8:d70e"  # 93.184.215.14 through DNS64
    v = Build().dns(HOST, nat64).ok_hop(ip=nat64).with_control(addresses=(IP,), endpoints=[]).verdict()
    assert v.label == "ok"


def reply(*ips: str, rcode: str = "NOERROR", t: float = 0.2, source: str = "10.0.0.53:53") -> DNSReply:
    return DNSReply(t=t, rcode=rcode, source=source,
                    answers=[DNSAnswer(answer_type="A", ipv4=ip) for ip in ips])


def test_two_different_replies_are_injection_confirmed_by_the_control() -> None:
    # the forged reply wins the race; the real one arrives later
    b = Build().dns(HOST, PUBLIC_OTHER, late=[reply(IP)])
    v = (b.connect(PUBLIC_OTHER).handshake(PUBLIC_OTHER, failure="ssl_invalid_hostname").with_control()
         .stop("ssl_invalid_hostname", "tls_handshake").verdict())
    assert (v.label, v.confidence, v.blocking) == ("dns.injected", "confirmed", "dns")
    assert "two different replies" in v.reasons[0]
    assert "matches only the later reply" in v.reasons[1]


def test_injection_without_control_is_still_evidence() -> None:
    v = (Build(HTTP_URL).dns(HOST, PUBLIC_OTHER, late=[reply(IP)]).ok_hop(HTTP_URL, ip=PUBLIC_OTHER)
         .no_control().verdict())
    assert (v.label, v.confidence) == ("dns.injected", "likely")


def test_injected_bogon() -> None:
    v = (Build().dns(HOST, "10.10.34.36", late=[reply(IP)]).connect("10.10.34.36", failure="generic_timeout_error")
         .with_control().stop("generic_timeout_error", "connect").verdict())
    assert (v.label, v.confidence) == ("dns.injected", "confirmed")


def test_identical_duplicate_of_a_good_answer_is_only_a_note() -> None:
    b = Build().dns(HOST, IP, late=[reply(IP)]).ok_hop().with_control()
    v = b.verdict()
    assert v.label == "ok"
    assert any("again" in r for r in v.reasons)


def test_identical_duplicates_of_a_forged_answer_name_the_technique() -> None:
    v = (Build().dns(HOST, "127.0.0.1", late=[reply("127.0.0.1")]).connect("127.0.0.1", failure="connection_refused")
         .with_control().stop("connection_refused", "connect").verdict())
    assert (v.label, v.confidence) == ("dns.injected", "confirmed")


def test_stray_datagrams_are_not_injection() -> None:
    v = Build().dns(HOST, IP, late=[DNSReply(t=0.2, rcode="MALFORMED", source="10.0.0.9:53")]).ok_hop() \
        .with_control().verdict()
    assert v.label == "ok"


def test_isp_resolver_lies_but_system_resolver_works_is_noted() -> None:
    b = Build().dns(HOST, IP)
    b.queries[1] = b.queries[1].model_copy(update={"failure": "dns_nxdomain_error", "rcode": "NXDOMAIN",
                                                   "answers": []})
    v = b.ok_hop().with_control().verdict()
    assert v.label == "ok"
    assert any("dns_nxdomain_error" in r for r in v.reasons)


def test_nxdomain_on_a_redirect_hop() -> None:
    # OONI redirectWithConsistentDNSAndThenNXDOMAIN: the control followed the redirect
    short = "https://bit.kz/selftanu"
    b = (Build(short).dns("bit.kz", IP2).ok_hop(short, ip=IP2, status=302, body=b"", headers={"Location": URL})
         .dns(HOST, failure="dns_nxdomain_error")
         .with_control(addresses=(IP2,), http=control_http(redirects=1, final_url=URL))
         .stop("dns_nxdomain_error", "resolve"))
    v = b.verdict()
    assert (v.label, v.confidence) == ("dns.nxdomain", "likely")
    assert HOST in v.reasons[0]


def test_healthy_site_has_no_dns_notes() -> None:
    v = healthy().verdict()
    assert v.label == "ok" and len(v.reasons) == 2


# --- failures of the probe's own resolver path are no evidence ----------------------------------------------

EMFILE = "unknown_failure: OSError: [Errno 24] Too many open files"


def _lookups(gai: str | None, udp: str | None, *, rcode: str | None = None) -> Build:
    """getaddrinfo failing with `gai` and both UDP queries with `udp` (None: that engine not asked)."""
    b = Build().dns(HOST, failure=gai or udp or "", udp=udp is not None)
    queries = b.queries
    if gai is None:
        b.queries = queries[1:]
    if udp is not None:
        b.queries = [q.model_copy(update={"failure": udp, "rcode": rcode}) if q.engine == "udp" else q
                     for q in b.queries]
    return b.stop(gai or udp or "", "resolve")


@pytest.mark.parametrize(("gai", "udp"), [
    ("dns_server_misbehaving", EMFILE),  # getaddrinfo EAI_SYSTEM / EAI_MEMORY, the UDP socket EMFILE
    ("dns_server_misbehaving", "unknown_failure: OSError: [Errno 105] No buffer space available"),
    ("dns_temporary_failure", "connection_refused"),  # the resolver's port is closed: ICMP unreachable
    ("dns_temporary_failure", "host_unreachable"),
    ("dns_non_recoverable_failure", "network_unreachable"),
    ("dns_server_misbehaving", None),
    (None, EMFILE),
    (None, "unknown_failure: invalid host name"),
])
def test_the_probes_own_resolver_path_failing_is_not_censorship(gai: str | None, udp: str | None) -> None:
    v = _lookups(gai, udp).with_control().verdict()
    assert (v.label, v.blocking, v.accessible) == ("inconclusive", None, None), v.reasons
    assert "The probe's own resolver path failed in a way that is not evidence of censorship" in v.reasons[1]
    assert f"The control resolved it to {IP}." in v.reasons


def test_a_local_failure_is_not_down_either_when_the_control_fails() -> None:
    v = (_lookups("dns_server_misbehaving", EMFILE)
         .with_control(addresses=(), dns_failure="dns_nxdomain_error", http=control_http(failure="dns_nxdomain_error"))
         .verdict())
    assert v.label == "inconclusive"
    assert "the probe never got an answer to compare" in " ".join(v.reasons)


def test_an_error_code_censors_do_not_use_is_not_evidence() -> None:
    v = _lookups("dns_non_recoverable_failure", "dns_server_misbehaving", rcode="NOTIMP").with_control().verdict()
    assert v.label == "inconclusive"
    assert "answered NOTIMP" in v.reasons[1]


@pytest.mark.parametrize(("gai", "udp", "label"), [
    ("dns_server_misbehaving", "dns_nxdomain_error", "dns.nxdomain"),  # a local getaddrinfo error: the UDP answer
    ("dns_temporary_failure", "dns_servfail_error", "dns.servfail"),
    ("dns_temporary_failure", "dns_refused_error", "dns.refused"),  # glibc says EAI_AGAIN for REFUSED too
    ("dns_non_recoverable_failure", "generic_timeout_error", "dns.timeout"),  # the exact answer wins
    ("dns_nxdomain_error", EMFILE, "dns.nxdomain"),  # getaddrinfo's own definite answer still counts
    ("generic_timeout_error", "connection_refused", "dns.timeout"),
])
def test_the_more_specific_evidence_decides(gai: str, udp: str, label: str) -> None:
    v = _lookups(gai, udp).with_control().verdict()
    assert (v.label, v.blocking) == (label, "dns"), v.reasons


@pytest.mark.parametrize("gai", ["dns_temporary_failure", "dns_non_recoverable_failure"])
def test_getaddrinfo_alone_failing_to_get_an_answer_is_servfail_like(gai: str) -> None:
    v = _lookups(gai, None).with_control().verdict()
    assert (v.label, v.confidence, v.blocking) == ("dns.servfail", "likely", "dns")


def test_an_empty_aaaa_answer_is_no_evidence_unless_the_site_has_ipv6() -> None:
    b = Build().dns(HOST, failure="dns_servfail_error")
    aaaa = next(i for i, q in enumerate(b.queries) if q.query_type == "AAAA")
    b.queries[aaaa] = b.queries[aaaa].model_copy(update={"failure": "dns_no_answer", "rcode": "NOERROR"})
    assert b.stop("dns_servfail_error", "resolve").with_control().verdict().label == "dns.servfail"
    assert b.with_control(addresses=(IP, "2001:4860::1")).verdict().label == "dns.nxdomain"


def test_a_recorded_lookup_of_an_address_literal_proves_nothing() -> None:
    url = "http://127.0.0.1/"
    b = Build(url).dns("127.0.0.1", failure="dns_nxdomain_error").connect("127.0.0.1", 80).get(url, ip="127.0.0.1")
    v = b.with_control(addresses=()).verdict()
    assert not v.label.startswith("dns.")
