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
    monkeypatch.setenv("PROBE_KEY", str(tmp_path / "key"))

    def run_demo(lab: Any, *, store: Path, echo: Any, key: Path | None = None) -> int:
        echo(f"{matched}/{CASES} verdicts name what the lab's censor did.")
        return matched

    monkeypatch.setattr(lab_demo, "run_demo", run_demo)
    result = CliRunner().invoke(cli, ["lab", "demo", "--store", str(tmp_path / "demo.sqlite")])
    assert result.exit_code == code, result.output
    assert f"{matched}/{CASES} verdicts" in result.output


def test_demo_makes_a_key_after_saying_so_and_prints_export_and_verify(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    key = tmp_path / "cfg" / "probe" / "key"
    monkeypatch.setenv("PROBE_KEY", str(key))
    seen: dict[str, Any] = {}

    def run_demo(lab: Any, *, store: Path, echo: Any, key: Path | None = None) -> int:
        seen["key"] = key
        return CASES

    monkeypatch.setattr(lab_demo, "run_demo", run_demo)
    store = tmp_path / "demo.sqlite"
    first = CliRunner().invoke(cli, ["lab", "demo", "--store", str(store)])
    assert first.exit_code == 0, first.output
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600" and seen["key"] == key
    assert "no signing key yet" in first.output and "probe init" in first.output
    fp = next(line.split()[-1] for line in first.output.splitlines() if line.startswith("Key fingerprint:"))
    lines = [line.strip() for line in first.output.splitlines()]
    export = next(line for line in lines if " export --store " in line)
    assert f"--store {store}" in export and f"--key {key}" in export and "--host selftanu.kz" in export
    assert "--since 20" in export and "--out demo-evidence-" in export
    verify = next(line for line in lines if " verify demo-evidence-" in line)
    assert verify.endswith(f"--fingerprint {fp}")
    again = CliRunner().invoke(cli, ["lab", "demo", "--store", str(store)])
    assert again.exit_code == 0 and "no signing key yet" not in again.output and fp in again.output
