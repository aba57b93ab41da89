"""The shipped scenarios, measured by the real probe in the lab: every verdict must be the expected one.

One clean lab per scenario (`probe lab run` does the same). Skips without root or the lab's servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from labhelpers import lab_prefix, skip_unless_lab_possible

from probe.lab import addressing as A
from probe.lab.lab import Lab
from probe.lab.runner import ScenarioResult, run_all, summarise
from probe.lab.scenario import Scenario, load_scenarios
from probe.store import Store

# The module fixture runs the whole shipped set (at the probe's production timeouts) before the first
# test: a few minutes, more than the suite's default 300 s per test on a loaded machine.
pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

SCENARIOS = load_scenarios([Path(__file__).resolve().parent / "scenarios"])
# The scenarios wait on timeouts far more than they use the CPU: three labs at once on two cores.
PARALLEL_LABS = 3


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("store") / "lab.sqlite"


@pytest.fixture(scope="module")
def results(store: Path) -> Iterator[dict[str, ScenarioResult]]:
    """Every shipped scenario run once (as `probe lab run --parallel 3` does), results by name."""
    skip_unless_lab_possible()
    lab = Lab(prefix=lab_prefix("s"))
    try:
        yield {r.name: r for r in run_all(SCENARIOS, lab=lab, store=store, parallel=PARALLEL_LABS)}
    finally:
        lab.down()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_verdict(results: dict[str, ScenarioResult], scenario: Scenario) -> None:
    result = results[scenario.name]
    assert result.error is None, result.error
    assert result.ok, (f"{scenario.name}: expected {result.expected} (blocking {result.expected_blocking!r}), "
                       f"got {result.got} (blocking {result.got_blocking!r}); reasons: {result.reasons}")


def test_no_false_blocked_verdict_on_a_scenario_that_is_not_censorship(results: dict[str, ScenarioResult]) -> None:
    assert summarise(list(results.values())).false_positives == []


def test_behind_nat_the_address_the_world_saw_is_learned_and_scrubbed(results: dict[str, ScenarioResult],
                                                                      store: Path) -> None:
    """The origin echoed the NAT's public address (not the probe's own): the probe learned it from the
    control and scrubbed it from the stored evidence, as it must for a volunteer behind a home router."""
    measurement_id = results["ok_behind_nat"].measurement_id
    with Store.open(store, create=False) as s:
        entry = s.get(measurement_id or "")
        assert entry is not None
        text = entry.measurement().model_dump_json()
        bodies = b"".join(s.artifact(a.sha256) or b"" for a in entry.measurement().artifacts)
    for address in (A.ISP_OUT_V4, A.CLIENT_V4):
        assert address not in text and address.encode() not in bodies
    assert "scrubbed" in text
