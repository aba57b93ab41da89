"""site.takedown and dns.takedown: pages served to everyone in place of a site, and registry holds."""

from __future__ import annotations

from typing import Literal

import pytest
from test_classify_builders import HOST, SITE_BODY, Build, context, control_http, healthy

from probe.classify import classify
from probe.classify.findings import ooni_blocking
from probe.classify.registry import read_statuses
from probe.models.registry import ControlRegistry, RegistryObservation
from probe.models.verdict import Verdict, is_blocked_label

SUSPENDED = ("<html><head><title>Аккаунт заблокирован</title></head><body><h1>Аккаунт заблокирован</h1>"
             "<p>Доступ к сайту ограничен по требованию уполномоченного органа.</p></body></html>").encode()
SEIZED = b"<html><head><title>Seized</title></head><body><h1>THIS DOMAIN HAS BEEN SEIZED</h1></body></html>"


def _served(body: bytes, *, control_body: bytes | None = None, url: str = f"https://{HOST}/") -> Build:
    return Build(url).dns(HOST).ok_hop(body=body).with_control(body=control_body or body)


@pytest.mark.parametrize(("body", "fingerprint", "confidence"), [
    (SEIZED, "takedown.seized_en", "confirmed"),
    (SUSPENDED, "takedown.ru_blocked_title", "likely"),
])
def test_a_takedown_page_the_control_gets_too_is_site_takedown(body: bytes, fingerprint: str,
                                                               confidence: str) -> None:
    v = _served(body).verdict()
    assert (v.label, v.fingerprint, v.confidence) == ("site.takedown", fingerprint, confidence)
    assert (v.blocking, v.accessible, v.blocked) == (False, False, False)
    assert "served to everyone" in " ".join(v.reasons)


def test_over_plain_http_too() -> None:
    v = _served(SUSPENDED, url=f"http://{HOST}/").verdict()
    assert v.label == "site.takedown"


def test_a_takedown_page_only_the_probe_gets_is_not_a_takedown() -> None:
    v = Build(f"http://{HOST}/").dns(HOST).ok_hop(body=SUSPENDED).with_control(body=SITE_BODY).verdict()
    assert v.label != "site.takedown"
    assert "not served to everyone" in " ".join(v.reasons)


def test_an_article_quoting_takedown_words_is_not_a_takedown() -> None:
    article = SITE_BODY.replace(b"</body>", b"<p>This domain has been seized, the agency said.</p>" * 2000
                                + b"</body>")
    v = _served(article).verdict()
    assert v.label == "ok"
    assert "not a suspension template" in " ".join(v.reasons)


def test_a_parking_page_is_only_possible() -> None:
    parked = b"<html><head><title>example.kz - this domain may be for sale</title></head><body>x</body></html>"
    v = _served(parked).verdict()
    assert (v.label, v.confidence, v.fingerprint) == ("site.takedown", "possible", "takedown.parking_en")


def test_the_site_itself_is_still_ok() -> None:
    assert healthy().verdict().label == "ok"


def _nowhere(*, control: RegistryObservation | None = None) -> Build:
    b = (Build().dns(HOST, failure="dns_nxdomain_error")
         .with_control(addresses=(), dns_failure="dns_nxdomain_error", http=control_http(failure="dns_nxdomain_error"))
         .stop("dns_nxdomain_error", "resolve"))
    if control is not None and b.control is not None:
        b.control = b.control.model_copy(update={"registry": ControlRegistry(observation=control)})
    return b


def _obs(*statuses: str, found: bool | None = True, failure: str | None = None,
         protocol: Literal["rdap", "whois"] = "whois") -> RegistryObservation:
    return RegistryObservation(protocol=protocol, server="whois.nic.kz:43", domain=HOST, t0=0.1, t=0.2,
                               failure=failure, found=found, statuses=list(statuses), raw_sha256="ab" * 32,
                               raw_length=300)


def _verdict(b: Build, *probe: RegistryObservation) -> Verdict:
    m = b.measurement().model_copy(update={"registry": list(probe)})
    return classify(m, bodies=b.bodies, context=context())


@pytest.mark.parametrize(("statuses", "label", "confidence"), [
    (("serverHold",), "dns.takedown", "confirmed"),
    (("clientHold", "clientTransferProhibited - transfer prohibited"), "dns.takedown", "likely"),
    (("server hold",), "dns.takedown", "confirmed"),  # RDAP's spelling (RFC 8056)
    (("Domain blocked by the registry",), "dns.takedown", "confirmed"),
    (("заблокирован",), "dns.takedown", "confirmed"),
    (("clientHold", "redemptionPeriod"), "down", "likely"),  # an unpaid name: the trap
    (("ok",), "down", "likely"),
    (("clientDeleteProhibited",), "down", "likely"),
])
def test_registry_statuses(statuses: tuple[str, ...], label: str, confidence: str) -> None:
    v = _verdict(_nowhere(), _obs(*statuses))
    assert (v.label, v.confidence, v.blocking, v.accessible) == (label, confidence, False, False)
    assert statuses[0] in " ".join(v.reasons)


def test_the_controls_registry_answer_counts_too() -> None:
    v = _verdict(_nowhere(control=_obs("serverHold", protocol="rdap")))
    assert v.label == "dns.takedown"
    assert "asked by the control" in " ".join(v.reasons)


def test_no_such_name_at_the_registry_stays_down() -> None:
    v = _verdict(_nowhere(), _obs(found=False))
    assert v.label == "down"
    assert "never existed" in " ".join(v.reasons)


def test_a_registry_that_could_not_be_asked_leaves_down() -> None:
    v = _verdict(_nowhere(), _obs(failure="connection_refused", found=None))
    assert v.label == "down"
    assert "could not be asked" in " ".join(v.reasons)


def test_a_hold_without_a_control_still_counts() -> None:
    b = Build().dns(HOST, failure="dns_nxdomain_error").no_control().stop("dns_nxdomain_error", "resolve")
    assert _verdict(b, _obs("serverHold")).label == "dns.takedown"


def test_a_name_the_control_resolves_is_the_isps_doing_whatever_the_registry_says() -> None:
    b = Build().dns(HOST, failure="dns_nxdomain_error").with_control().stop("dns_nxdomain_error", "resolve")
    assert _verdict(b, _obs("serverHold")).label == "dns.nxdomain"


def test_takedown_labels_are_not_blocking_by_the_network() -> None:
    for label in ("site.takedown", "dns.takedown"):
        assert not is_blocked_label(label)
        assert ooni_blocking(label) is False


def test_read_statuses_is_case_and_spacing_blind() -> None:
    r = read_statuses(["SERVER_HOLD", "client transfer prohibited", "pendingDelete"])
    assert r.holds == ("SERVER_HOLD",) and r.server_side and r.expiry == ("pendingDelete",)
