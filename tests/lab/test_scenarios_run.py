"""The shipped scenarios, measured by the real probe in the lab: every verdict must be the expected one.

One clean lab per scenario (`probe lab run` does the same). Skips when `probe run` is not
available in this install, or without root.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from labhelpers import lab_prefix, skip_unless_lab_possible

from probe.lab.lab import Lab
from probe.lab.runner import run_scenario
from probe.lab.scenario import Scenario, load_scenarios
from probe.lab.servers import probe_run_available

pytestmark = pytest.mark.lab

SCENARIOS = load_scenarios([Path(__file__).resolve().parent / "scenarios"])


@pytest.fixture(scope="module")
def scenario_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    skip_unless_lab_possible()
    if not probe_run_available():
        pytest.skip("`python -m probe run` is not available in this install")
    lab = Lab(prefix=lab_prefix("s"))
    try:
        yield lab, tmp_path_factory.mktemp("store") / "lab.sqlite"
    finally:
        lab.down()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_verdict(scenario_lab: tuple[Lab, Path], scenario: Scenario) -> None:
    lab, store = scenario_lab
    result = run_scenario(lab, scenario, store=store)
    assert result.error is None, result.error
    assert result.ok, (f"{scenario.name}: expected {result.expected} (blocking {result.expected_blocking!r}), "
                       f"got {result.got} (blocking {result.got_blocking!r}); reasons: {result.reasons}")
