"""`probe results` on a store larger than --limit: the newest are shown, and stderr says what was cut."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from probe.cli.results import results_command
from probe.models import Measurement, ProbeNetwork
from probe.store import Store


def _measurement(i: int, url: str) -> Measurement:
    return Measurement(measurement_id=f"00000000-0000-4000-8000-{i:012d}", input=url,
                       test_start_time=f"2026-11-{1 + i:02d}T10:00:00.000000Z", measurement_runtime_s=0.1,
                       software_version="test", network=ProbeNetwork(probe_asn="AS9198", probe_cc="KZ"))


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    """Six measurements, oldest first: four of selftanu.kz, two of who.int (the 3rd and the 6th)."""
    path = tmp_path / "probe.sqlite"
    with Store.open(path) as s:
        for i in range(6):
            s.append(_measurement(i, "http://who.int/" if i in (2, 5) else "https://selftanu.kz/"))
    return path


def _results(store: Path, *args: str) -> Result:
    result = CliRunner().invoke(results_command, ["--store", str(store), *args])
    assert result.exit_code == 0, result.output
    return result


def _days(result: Result) -> list[str]:
    return [json.loads(line)["test_start_time"][:10] for line in result.stdout.splitlines()]


def test_the_newest_are_shown_oldest_first_and_the_cut_is_said(store: Path) -> None:
    cut = _results(store, "--json", "--limit", "2")
    assert _days(cut) == ["2026-11-05", "2026-11-06"]  # the newest two, newest last (as in the table)
    assert "showing 2 of 6 matching measurements" in cut.stderr and "--limit 0" in cut.stderr


def test_the_table_shows_the_newest_too(store: Path) -> None:
    table = _results(store, "--limit", "3")
    assert "2026-11-06" in table.stdout and "2026-11-04" in table.stdout and "2026-11-03" not in table.stdout
    assert table.stdout.index("2026-11-04") < table.stdout.index("2026-11-06")
    assert "showing 3 of 6" in table.stderr


def test_nothing_is_said_when_nothing_was_cut(store: Path) -> None:
    exact = _results(store, "--json", "--limit", "6")
    assert len(_days(exact)) == 6 and exact.stderr == ""
    everything = _results(store, "--json", "--limit", "0")
    assert _days(everything) == [f"2026-11-{d:02d}" for d in range(1, 7)] and everything.stderr == ""


def test_the_count_is_of_what_matches_the_filter(store: Path) -> None:
    one = _results(store, "--json", "--host", "who.int", "--limit", "1")
    assert _days(one) == ["2026-11-06"]
    assert "showing 1 of 2 matching" in one.stderr
    since = _results(store, "--json", "--since", "2026-11-04", "--limit", "2")
    assert _days(since) == ["2026-11-05", "2026-11-06"] and "showing 2 of 3" in since.stderr


def test_a_negative_limit_is_refused(store: Path) -> None:
    result = CliRunner().invoke(results_command, ["--store", str(store), "--limit", "-1"])
    assert result.exit_code == 2 and "--limit" in result.stderr


def test_the_table_fits_an_80_column_terminal_one_line_a_row(tmp_path: Path) -> None:
    path = tmp_path / "probe.sqlite"
    long_url = "https://www.hrw.org/news/2024/02/12/kazakhstan-lgbt-education-site-blocked-by-a-ministry-letter"
    with Store.open(path) as s:
        s.append(_measurement(0, long_url))
        s.append(_measurement(1, "https://selftanu.kz/"))
    result = CliRunner().invoke(results_command, ["--store", str(path)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == 2  # one line a row: no wrapped fragments
    assert "https://www.hrw" in rows[0] and "ministry-letter" in rows[0] and "…" in rows[0]
    wide = CliRunner().invoke(results_command, ["--store", str(path), "--wide"], env={"COLUMNS": "80"})
    assert wide.exit_code == 0 and "not shown at this width" not in wide.stdout
    assert "failure" in wide.stdout and "network" in wide.stdout
