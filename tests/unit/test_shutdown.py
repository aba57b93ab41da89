"""Internet shutdowns: which well-known set is used, and every verdict of a down run is inconclusive."""

from __future__ import annotations

from test_classify_builders import Build

from probe.classify.shutdown import shutdown_verdict
from probe.measure.netcheck import DEFAULT_WELL_KNOWN, split_address, well_known_set
from probe.models.netcheck import NetworkDown, ReachCheck

DOWN = NetworkDown(checked_at="2026-12-03T10:00:00.000000Z", dns_answers=False, checks=[
    ReachCheck(kind="control", target="198.18.0.80:443", t0=0, t=5, failure="generic_timeout_error"),
    ReachCheck(kind="resolver", target="10.77.1.1:53 for decoy.probe-lab.net", t0=5, t=10,
               failure="generic_timeout_error"),
    ReachCheck(kind="tcp", target="198.18.0.8:53", t0=5, t=10, failure="generic_timeout_error"),
])


def test_the_default_set_is_only_for_public_helpers() -> None:
    assert well_known_set(None, ["https://control.example.net/"]) == list(DEFAULT_WELL_KNOWN)
    assert well_known_set(None, ["https://1.1.1.2/"]) == list(DEFAULT_WELL_KNOWN)
    for local in ("https://127.0.0.1:8443/", "https://198.18.0.80/", "https://10.0.0.5/", "https://localhost/",
                  "https://[::1]/"):
        assert well_known_set(None, [local]) == [], local  # a test or a lab names its own
    assert well_known_set(None, []) == []
    assert well_known_set(["198.18.0.8:53"], ["https://198.18.0.80/"]) == ["198.18.0.8:53"]


def test_addresses_parse() -> None:
    assert split_address("1.1.1.1:443") == ("1.1.1.1", 443)
    assert split_address("[2606:4700:4700::1111]:443") == ("2606:4700:4700::1111", 443)


def test_a_block_seen_during_an_outage_is_inconclusive_with_the_checks_as_reason() -> None:
    seen = (Build().dns().connect(failure="generic_timeout_error", dur=10.0).with_control()
            .stop("generic_timeout_error", "connect"))
    blocked = seen.verdict()
    assert blocked.label == "tcp.timeout"
    m = seen.measurement().model_copy(update={"network_down": DOWN})
    v = shutdown_verdict(m, blocked)
    assert (v.label, v.blocking, v.accessible, v.blocked) == ("inconclusive", None, None, False)
    assert v.reasons[0].startswith("The network was down when this run started (2026-12-03T10:00:00")
    assert "no control helper answered (198.18.0.80:443: generic_timeout_error)" in v.reasons[0]
    assert "the resolver did not resolve" in v.reasons[0] and "full" in v.reasons[0]
    assert any(r.startswith("Seen: TCP connect") for r in v.reasons)


def test_the_classifier_applies_it_and_a_partial_outage_says_dns_answers() -> None:
    from test_classify_builders import context

    from probe.classify import classify

    partial = DOWN.model_copy(update={"dns_answers": True})
    m = Build().dns().connect(failure="generic_timeout_error", dur=10.0).no_control().stop(
        "generic_timeout_error", "connect").measurement().model_copy(update={"network_down": partial})
    v = classify(m, bodies={}, context=context())
    assert v.label == "inconclusive" and "partial (DNS still answers)" in v.reasons[0]
    assert "the resolver still answered" in v.reasons[0]
