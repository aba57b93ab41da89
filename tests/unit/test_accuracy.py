"""benchmarks/accuracy.py's accounting: which scenarios are censorship, what is a miss, what is a false block.

The benchmark needs the lab; its accounting is pure and checked here on hand-made results.
"""

from __future__ import annotations

from typing import Any

from benchmark_modules import load_benchmark

from probe.lab.runner import ScenarioResult
from probe.lab.scenario import Scenario, default_scenario_dir, load_scenarios

accuracy = load_benchmark("accuracy.py")


def scenario(name: str, url: str, verdict: str, *censor: dict[str, Any], redirect_to: str = "") -> Scenario:
    return Scenario.model_validate({"name": name, "url": url, "censor": list(censor),
                                    "origin": {"redirect_to": redirect_to}, "expect": {"verdict": verdict}})


def result(name: str, expected: str, got: str | None) -> ScenarioResult:
    return ScenarioResult(name=name, url="https://x.kz/", expected=expected, got=got)


SCENARIOS = [
    scenario("tls_throttle", "https://who.int/", "tls.throttled", {"action": "tls_throttle"}),
    scenario("block_control", "https://www.gov.kz/", "inconclusive", {"action": "block_control"}),
    scenario("sni_drop", "https://selftanu.kz/", "tls.timeout", {"action": "tls_sni_drop"}),
    scenario("subdomain", "https://www.selftanu.kz/", "tls.timeout",
             {"action": "tls_sni_drop", "match": "selftanu.kz"}),
    scenario("redirect_then_reset", "https://bit.kz/s", "tls.reset",
             {"action": "tls_sni_reset", "match": "selftanu.kz"}, redirect_to="https://selftanu.kz/"),
    scenario("other_host_blocked", "https://who.int/", "ok", {"action": "ip_drop", "match": "selftanu.kz"}),
    scenario("site_down", "https://who.int/", "down"),
    scenario("ok", "https://who.int/", "ok"),
]


def test_censorship_is_a_censor_action_on_a_host_the_probe_visits() -> None:
    assert accuracy.censorship_scenarios(SCENARIOS) == {"tls_throttle", "sni_drop", "subdomain",
                                                        "redirect_then_reset"}


def test_throttling_missed_and_control_blocking_falsely_called_censorship() -> None:
    results = [
        result("tls_throttle", "tls.throttled", "ok"),            # missed: throttling is censorship
        result("sni_drop", "tls.timeout", "down"),                # missed
        result("subdomain", "tls.timeout", "inconclusive"),       # wrong, but it does not say "not censored"
        result("redirect_then_reset", "tls.reset", None),         # the run failed: wrong, not a miss
        result("block_control", "inconclusive", "tcp.timeout"),   # false block: only the control was blocked
        result("other_host_blocked", "ok", "ok"),
        result("site_down", "down", "tls.throttled"),             # false block: throttling claims censorship
        result("ok", "ok", "site.refused"),
    ]
    fig = accuracy.figures(results, censored=accuracy.censorship_scenarios(SCENARIOS))
    assert fig["censorship_scenarios"] == 4 and fig["not_censorship_scenarios"] == 4
    assert fig["missed_censorship"] == ["tls_throttle", "sni_drop"]
    assert fig["missed_censorship_rate"] == 0.5
    assert fig["false_blocked"] == ["block_control", "site_down"]
    assert fig["false_blocked_rate"] == 0.5
    assert fig["correct"] == 1 and fig["accuracy"] == 0.125
    assert {"expected": "tls.reset", "got": "(error)", "n": 1} in fig["confusion"]


def test_detected_censorship_is_not_a_miss_and_the_figures_keep_their_keys() -> None:
    results = [result("tls_throttle", "tls.throttled", "tls.throttled"), result("sni_drop", "tls.timeout", "tls.reset"),
               result("block_control", "inconclusive", "inconclusive"), result("ok", "ok", "ok")]
    fig = accuracy.figures(results, censored=accuracy.censorship_scenarios(SCENARIOS))
    assert fig["missed_censorship"] == [] and fig["false_blocked"] == []
    assert fig["missed_censorship_rate"] == 0.0 and fig["false_blocked_rate"] == 0.0
    assert list(fig) == ["scenarios", "correct", "accuracy", "censorship_scenarios", "not_censorship_scenarios",
                         "false_blocked_rate", "missed_censorship_rate", "false_blocked", "missed_censorship",
                         "wrong", "confusion"]


def test_the_shipped_scenarios_split_as_their_censors_say() -> None:
    shipped = load_scenarios([default_scenario_dir()])
    censored = accuracy.censorship_scenarios(shipped)
    assert "tls_throttle" in censored
    assert not {"block_control_http", "block_control_https"} & censored
    expected_claims = {s.name for s in shipped if accuracy.claims_censorship(s.expect.verdict)}
    assert expected_claims <= censored  # no scenario that expects censorship is counted as a site's own trouble
