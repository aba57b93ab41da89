"""Every censor action, network condition and origin option, observed with plain sockets from the
client namespace (no probe): what a packet or a socket sees is what the scenario says."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from labhelpers import check

from probe.lab import addressing as A
from probe.lab.lab import Lab
from probe.lab.netns import ns_argv
from probe.lab.scenario import Scenario

pytestmark = pytest.mark.lab

SITE = A.site_v4(1)  # the scenario's site (index 0 is the decoy)
DECOY = "decoy.probe-lab.net"


def up(lab: Lab, url: str, censor: list[dict[str, Any]] | None = None, origin: dict[str, Any] | None = None,
       network: dict[str, Any] | None = None) -> None:
    lab.up(Scenario.model_validate({"name": "t", "url": url, "censor": censor or [], "origin": origin or {},
                                    "network": network or {}, "expect": {"verdict": "ok"}}))


def first(result: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = result["replies"][0]
    return reply


@pytest.mark.parametrize(("action", "rcode"), [("dns_nxdomain", "NXDOMAIN"), ("dns_servfail", "SERVFAIL"),
                                               ("dns_refused", "REFUSED")])
def test_resolver_lies_with_an_rcode(lab: Lab, action: str, rcode: str) -> None:
    up(lab, "https://selftanu.kz/", [{"action": action}])
    assert first(check(lab, "dns", "selftanu.kz"))["rcode"] == rcode
    assert first(check(lab, "dns", "www.selftanu.kz"))["rcode"] == rcode  # a domain suffix
    assert first(check(lab, "dns", DECOY))["answers"] == [A.site_v4(0)]
    assert first(check(lab, "dns", "selftanu.kz", A.PUBLIC_RESOLVER_V4))["answers"] == [SITE]


def test_dns_drop_times_out_for_the_name_only(lab: Lab) -> None:
    up(lab, "https://selftanu.kz/", [{"action": "dns_drop"}])
    assert check(lab, "dns", "selftanu.kz")["failure"] == "timeout"
    assert check(lab, "gai", "selftanu.kz")["failure"] is not None
    assert first(check(lab, "dns", DECOY))["rcode"] == "NOERROR"


@pytest.mark.parametrize(("address", "v4"), [("blockpage", A.BLOCKPAGE_V4), ("origin_other", A.OTHER_HOSTING_V4),
                                             ("127.0.0.1", "127.0.0.1"), ("10.77.250.1", "10.77.250.1")])
def test_dns_redirect(lab: Lab, address: str, v4: str) -> None:
    up(lab, "http://who.int/", [{"action": "dns_redirect", "address": address}])
    assert first(check(lab, "dns", "who.int"))["answers"] == [v4]
    if address == "blockpage":
        page = check(lab, "http", v4, "80", "who.int")
        assert page["status"] == 200 and "Доступ" in page["title"]
        assert check(lab, "tcp", v4, "443")["failure"] == "ECONNREFUSED"
    if address == "origin_other":
        tls = check(lab, "tls", v4, "443", "who.int", str(lab.ca_path))
        assert tls["ok"] and tls["valid"] is False  # another host's certificate
    if address == "10.77.250.1":  # a private address with no host: the connection times out
        assert check(lab, "tcp", v4, "80")["failure"] == "timeout"


def test_dns_inject_races_the_real_reply(lab: Lab) -> None:
    up(lab, "https://selftanu.kz/", [{"action": "dns_inject", "address": "origin_other"}])
    replies = check(lab, "dns", "selftanu.kz")["replies"]
    assert [r["answers"] for r in replies] == [[A.OTHER_HOSTING_V4], [SITE]]
    assert replies[1]["t"] - replies[0]["t"] < 0.5  # inside the probe's late-reply window
    assert check(lab, "gai", "selftanu.kz")["addresses"][0] == A.OTHER_HOSTING_V4
    assert len(check(lab, "dns", DECOY)["replies"]) == 1


@pytest.mark.parametrize(("action", "failure"), [("ip_drop", "timeout"), ("ip_reset", "ECONNREFUSED"),
                                                 ("ip_reject", "EHOSTUNREACH")])
def test_ip_blocking(lab: Lab, action: str, failure: str) -> None:
    up(lab, "https://selftanu.kz/", [{"action": action}], origin={"ipv6": True})
    assert check(lab, "tcp", SITE, "443")["failure"] == failure
    assert check(lab, "tcp", A.site_v6(1), "443")["failure"] == failure.replace("EHOSTUNREACH", "EACCES") \
        or check(lab, "tcp", A.site_v6(1), "443")["ok"] is False
    assert check(lab, "tcp", A.site_v4(0), "443")["ok"]  # another address is fine


@pytest.mark.parametrize(("action", "failure"), [("tls_sni_drop", "timeout"), ("tls_sni_reset", "ECONNRESET")])
def test_sni_filtering(lab: Lab, action: str, failure: str) -> None:
    up(lab, "https://selftanu.kz/", [{"action": action}])
    assert check(lab, "tcp", SITE, "443")["ok"]  # the address itself is reachable
    assert check(lab, "tls", SITE, "443", "selftanu.kz")["failure"] == failure
    decoy = check(lab, "tls", SITE, "443", DECOY, str(lab.ca_path))
    assert decoy["ok"] and decoy["valid"]


@pytest.mark.parametrize("match", ["selftanu.kz", "kz"])
def test_sni_drop_holds_over_ipv6_and_for_short_names(lab: Lab, match: str) -> None:
    # Name rules sit behind a "carries a payload" test (censor.py); a name under 4 bytes skips it.
    # Either way the ClientHello is dropped over both families, and the flow's bare packets pass.
    up(lab, "https://selftanu.kz/", [{"action": "tls_sni_drop", "match": match}])
    for address in (SITE, A.site_v6(1)):
        assert check(lab, "tcp", address, "443")["ok"]
        assert check(lab, "tls", address, "443", "selftanu.kz")["failure"] == "timeout"
        assert check(lab, "tls", address, "443", DECOY, str(lab.ca_path))["valid"]


def test_tls_mitm_forges_a_chain_under_the_rogue_root(lab: Lab) -> None:
    up(lab, "https://who.int/", [{"action": "tls_mitm", "issuer": "Qaznet Trust Network"}])
    tls = check(lab, "tls", SITE, "443", "who.int", str(lab.ca_path))
    assert tls["ok"] and not tls["valid"]
    assert "Qaznet Trust Network Intermediate CA" in tls["issuer"]
    page = check(lab, "http", SITE, "443", "who.int", "tls")  # the interceptor relays the real page
    assert page["status"] == 200 and page["title"] == "who.int"
    assert check(lab, "tls", SITE, "443", DECOY, str(lab.ca_path))["valid"]


def test_tls_throttle_slows_the_name_not_the_decoy(lab: Lab) -> None:
    up(lab, "https://who.int/", [{"action": "tls_throttle", "delay_ms": 800, "rate_kbit": 160}],
       origin={"body_bytes": 40_000})
    slow = check(lab, "tls", SITE, "443", "who.int", str(lab.ca_path))
    fast = check(lab, "tls", SITE, "443", DECOY, str(lab.ca_path))
    assert slow["valid"] and slow["t"] >= 0.8 and fast["t"] < 0.6
    page = check(lab, "http", SITE, "443", "who.int", "tls", str(lab.ca_path))
    assert page["body_length"] == 40_000 and page["t"] >= 0.8 + 40_000 * 8 / 160_000 * 0.8


def test_http_throttle_slows_the_host_not_others(lab: Lab) -> None:
    up(lab, "http://who.int/", [{"action": "http_throttle", "delay_ms": 800, "rate_kbit": 160}],
       origin={"body_bytes": 40_000})
    slow = check(lab, "http", SITE, "80", "who.int")
    fast = check(lab, "http", SITE, "80", DECOY)
    assert slow["status"] == 200 and slow["body_length"] == 40_000  # relayed whole, only slowly
    assert slow["t"] >= 0.8 + 40_000 * 8 / 160_000 * 0.8 and fast["t"] < 0.6


@pytest.mark.parametrize(("action", "failure"), [("http_host_drop", "timeout"), ("http_host_reset", "ECONNRESET")])
def test_http_host_filtering(lab: Lab, action: str, failure: str) -> None:
    up(lab, "http://selftanu.kz/", [{"action": action}])
    assert check(lab, "http", SITE, "80", "selftanu.kz")["failure"] == failure
    assert check(lab, "http", SITE, "80", DECOY)["status"] == 200


@pytest.mark.parametrize(("action", "port", "tls"), [("http_host_eof", "80", ""), ("tls_sni_eof", "443", "tls")])
def test_eof_actions_end_the_flow_with_a_fin(lab: Lab, action: str, port: str, tls: str) -> None:
    """The censor closes cleanly right after the Host header / ClientHello: recv() gives b"" ("eof")
    at once, where an RST raises ECONNRESET and a drop times out; other names pass."""
    up(lab, "https://selftanu.kz/", [{"action": action}])
    tail = [tls, str(lab.ca_path)] if tls else []
    assert check(lab, "tcp", SITE, port)["ok"]  # the address itself is reachable
    closed = check(lab, "http", SITE, port, "selftanu.kz", *tail)
    assert closed["failure"] == "eof" and closed["t"] < 1.0
    assert check(lab, "http", SITE, port, "www.selftanu.kz", *tail)["failure"] == "eof"  # a domain suffix
    assert check(lab, "http", SITE, port, DECOY, *tail)["status"] == 200  # relayed untouched
    if tls:
        assert check(lab, "tls", SITE, port, "selftanu.kz")["failure"] == "eof"
        assert check(lab, "tls", SITE, port, DECOY, str(lab.ca_path))["valid"]


def test_http_blockpage_and_redirect_injection(lab: Lab) -> None:
    up(lab, "http://who.int/", [{"action": "http_blockpage", "status": 451, "page": "<title>Blocked</title>"},
                                {"action": "http_redirect", "match": "selftanu.kz",
                                 "location": "http://blocked.kz/?u=selftanu"}])
    page = check(lab, "http", SITE, "80", "who.int")
    assert page["status"] == 451 and page["title"] == "Blocked"
    moved = check(lab, "http", SITE, "80", "selftanu.kz")
    assert moved["status"] == 302 and moved["headers"]["Location"] == "http://blocked.kz/?u=selftanu"
    assert first(check(lab, "dns", "blocked.kz"))["answers"] == [A.BLOCKPAGE_V4]
    assert check(lab, "http", SITE, "80", DECOY)["status"] == 200  # other hosts pass through


def test_block_control(lab: Lab) -> None:
    up(lab, "https://selftanu.kz/", [{"action": "block_control"}])
    assert check(lab, "tcp", A.CONTROL_V4, "443")["failure"] == "timeout"
    assert check(lab, "tcp", SITE, "443")["ok"]


def test_control_helper_answers_when_not_blocked(lab: Lab) -> None:
    up(lab, "https://selftanu.kz/")
    assert lab.status().processes.get(lab.names.ctl, 0) > 0  # the helper runs in its own namespace
    tls = check(lab, "tls", A.CONTROL_V4, "443", A.CONTROL_V4, str(lab.ca_path))
    assert tls["ok"] and tls["valid"]


def test_rtt_and_loss(lab: Lab) -> None:
    up(lab, "https://selftanu.kz/", network={"rtt_ms": 60})
    assert 0.055 <= check(lab, "tcp", SITE, "443")["t"] < 0.5
    assert 0.055 <= first(check(lab, "dns", "selftanu.kz"))["t"] < 0.5  # to the ISP's own resolver too
    # Half each way: packets towards the client went through the delayer as well.
    listing = ["iptables", "-t", "mangle", "-L", "POSTROUTING", "-v", "-n", "-x"]
    counters = subprocess.run(ns_argv(lab.names.isp, listing), capture_output=True, text=True, timeout=30,
                              check=False).stdout
    queued = [line.split() for line in counters.splitlines() if "NFQUEUE" in line]
    assert queued and int(queued[0][0]) > 0, counters
    up(lab, "https://selftanu.kz/", network={"loss_pct": 50})
    answered = sum(bool(check(lab, "dns", "selftanu.kz")["replies"]) for _ in range(8))
    assert answered < 8  # some queries or replies are lost (each crosses the lossy links twice)


def test_tls_reset_midstream_after_the_handshake(lab: Lab) -> None:
    up(lab, "https://who.int/", [{"action": "tls_reset_midstream"}], origin={"body_bytes": 30_000})
    assert check(lab, "tls", SITE, "443", "who.int", str(lab.ca_path))["valid"]  # the handshake completes
    page = check(lab, "http", SITE, "443", "who.int", "tls", str(lab.ca_path))
    # Then the flow is reset: Linux drops unread bytes on an RST, and Python's TLS socket reports a
    # reset under way as a ragged EOF (the probe's own steps name it connection_reset: the scenario).
    assert page["failure"] in ("ECONNRESET", "eof") and not page["ok"]
    assert check(lab, "http", SITE, "443", DECOY, "tls", str(lab.ca_path))["ok"]


def test_nat_hides_the_client_address_from_the_world(lab: Lab) -> None:
    up(lab, "http://who.int/", origin={"echo_client_ip": True}, network={"nat": True})
    page = check(lab, "http", SITE, "80", "who.int")
    assert page["headers"]["X-Client-IP"] == A.ISP_OUT_V4  # not the probe's own 10.77.1.2


def test_dns_inject_over_ipv6(lab: Lab) -> None:
    up(lab, "https://selftanu.kz/", [{"action": "dns_inject", "address": "origin_other"}])
    for qtype, forged in (("A", A.OTHER_HOSTING_V4), ("AAAA", A.OTHER_HOSTING_V6)):
        replies = check(lab, "dns", "selftanu.kz", A.ISP_IN_V6, qtype)["replies"]
        assert replies[0]["answers"] == [forged] and replies[0]["source"] == A.ISP_IN_V6
        assert len(replies) == 2 or qtype == "AAAA", replies  # the site has no AAAA: NODATA, one reply


def test_origin_options(lab: Lab) -> None:
    up(lab, "https://selftanu.kz/", origin={"probe_page": "captcha", "echo_client_ip": True, "ipv6": True,
                                            "addresses": 2, "cert": "expired"})
    assert sorted(check(lab, "gai", "selftanu.kz")["addresses"]) == sorted(
        [A.site_v4(1), A.site_v4(2), A.site_v6(1), A.site_v6(2)])
    assert check(lab, "tls", SITE, "443", "selftanu.kz", str(lab.ca_path))["invalid_reason"] == \
        "certificate has expired"
    page = check(lab, "http", SITE, "443", "selftanu.kz", "tls")
    assert page["status"] == 403 and "Cloudflare" in page["title"]
    assert page["headers"]["X-Client-IP"] == A.CLIENT_V4


@pytest.mark.parametrize(("origin", "port", "failure"), [({"up": False}, "443", "ECONNREFUSED"),
                                                         ({"http": False}, "80", "ECONNREFUSED")])
def test_site_down_and_http_off(lab: Lab, origin: dict[str, Any], port: str, failure: str) -> None:
    up(lab, "https://selftanu.kz/", origin=origin)
    assert check(lab, "tcp", SITE, port)["failure"] == failure


def test_names_that_do_not_exist_or_have_no_address(lab: Lab) -> None:
    up(lab, "https://gone.kz/", origin={"exists": False})
    assert first(check(lab, "dns", "gone.kz", A.PUBLIC_RESOLVER_V4))["rcode"] == "NXDOMAIN"
    up(lab, "https://noaddr.kz/", origin={"addresses": 0})
    reply = first(check(lab, "dns", "noaddr.kz"))
    assert reply["rcode"] == "NOERROR" and reply["answers"] == []


def test_geo_answer_is_another_valid_node(lab: Lab) -> None:
    up(lab, "https://cdn.who.int/", origin={"geo": True})
    isp = first(check(lab, "dns", "cdn.who.int"))["answers"]
    public = first(check(lab, "dns", "cdn.who.int", A.PUBLIC_RESOLVER_V4))["answers"]
    assert isp != public
    assert check(lab, "tls", isp[0], "443", "cdn.who.int", str(lab.ca_path))["valid"]
