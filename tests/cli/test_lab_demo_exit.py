"""`probe lab demo`'s exit status, without building a lab: run_demo is replaced by a stand-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from probe.cli.main import cli
from probe.lab import demo as lab_demo

CASES = len(lab_demo.demo_scenarios())


@pytest.mark.parametrize(("matched", "code"), [(CASES, 0), (CASES - 1, 1), (0, 1)])
def test_demo_exits_1_unless_every_verdict_matched(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    matched: int, code: int) -> None:
    def run_demo(lab: Any, *, store: Path, echo: Any) -> int:
        echo(f"{matched}/{CASES} verdicts name what the lab's censor did.")
        return matched

    monkeypatch.setattr(lab_demo, "run_demo", run_demo)
    result = CliRunner().invoke(cli, ["lab", "demo", "--store", str(tmp_path / "demo.sqlite")])
    assert result.exit_code == code, result.output
    assert f"{matched}/{CASES} verdicts" in result.output
