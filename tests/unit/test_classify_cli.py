"""`probe reclassify`: verdicts recomputed from stored observations; the evidence itself untouched."""

from __future__ import annotations

import uuid
from pathlib import Path

import click
from click.testing import CliRunner
from test_classify_builders import HOST, IP, Build, healthy

from probe.cli import classify as cli_module
from probe.models import Artifact, Verdict
from probe.store.store import Store

BLOCKPAGE = "<html><body>Доступ к информационному ресурсу ограничен</body></html>".encode()
STALE = Verdict(label="ok", confidence="likely", blocking=False, accessible=True, reasons=["old rules"],
                rules_version="0")


def _cli() -> click.Group:
    group = click.Group()
    group.add_command(cli_module.reclassify)
    return group


def _fill(path: Path) -> list[str]:
    """Three measurements: a healthy one and a blockpage, both with a stale verdict, and one with none."""
    ids = []
    with Store.open(path) as store:
        for n, build in enumerate([healthy(), Build(f"http://{HOST}/").dns().connect(IP, 80)
                                   .get(f"http://{HOST}/", status=403, body=BLOCKPAGE).with_control(),
                                   healthy(f"https://www.{HOST}/")]):
            m = build.measurement().model_copy(update={"measurement_id": str(uuid.UUID(int=n + 10)),
                                                       "test_start_time": f"2026-11-2{n}T00:00:00.000000Z"})
            artifacts = [Artifact.of("http_body", data) for data in build.bodies.values()]
            store.append(m, artifacts, STALE if n < 2 else None)
            ids.append(m.measurement_id)
    return ids


def test_reclassify_replaces_changed_verdicts_only(tmp_path: Path) -> None:
    path = tmp_path / "probe.sqlite"
    ids = _fill(path)
    with Store.open(path) as store:
        records = {e.measurement_id: e.record_sha256 for e in store.entries()}
    result = CliRunner().invoke(_cli(), ["reclassify", "--store", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 measurements reclassified" in result.output and "3 verdicts changed" in result.output
    assert "ok -> http.blockpage" in result.output and "none -> ok" in result.output
    with Store.open(path) as store:
        entries = {e.measurement_id: e for e in store.entries()}
        assert {i: e.record_sha256 for i, e in entries.items()} == records  # evidence untouched
        blockpage = entries[ids[1]].verdict
        assert blockpage is not None and blockpage.fingerprint == "kz.ru_info_resource_restricted"
    again = CliRunner().invoke(_cli(), ["reclassify", "--store", str(path)])
    assert "0 verdicts changed" in again.output


def test_dry_run_and_filters(tmp_path: Path) -> None:
    path = tmp_path / "probe.sqlite"
    ids = _fill(path)
    dry = CliRunner().invoke(_cli(), ["reclassify", "--store", str(path), "--dry-run", "--url", f"http://{HOST}/"])
    assert dry.exit_code == 0
    assert "1 measurements reclassified" in dry.output and "1 verdicts would change" in dry.output
    with Store.open(path) as store:
        entry = store.get(ids[1])
        assert entry is not None and entry.verdict == STALE
    since = CliRunner().invoke(_cli(), ["reclassify", "--store", str(path), "--since", "2026-11-22"])
    assert "1 measurements reclassified" in since.output


def test_pruned_bodies_are_said_in_the_new_verdicts(tmp_path: Path) -> None:
    path = tmp_path / "probe.sqlite"
    ids = _fill(path)
    with Store.open(path) as store:
        assert store.prune_artifacts(older_than="9999") >= 1
    CliRunner().invoke(_cli(), ["reclassify", "--store", str(path)])
    with Store.open(path) as store:
        entry = store.get(ids[0])
        assert entry is not None and entry.verdict is not None
        assert any("pruned" in r for r in entry.verdict.reasons)
        assert entry.verdict.label == "ok"  # judged by status, title and length


def test_errors_are_one_line(tmp_path: Path) -> None:
    from probe.errors import ProbeError

    runner = CliRunner()
    missing = runner.invoke(_cli(), ["reclassify", "--store", str(tmp_path / "none.sqlite")])
    assert isinstance(missing.exception, ProbeError)
    path = tmp_path / "probe.sqlite"
    _fill(path)
    bad = runner.invoke(_cli(), ["reclassify", "--store", str(path), "--not-bogon", "nope"])
    assert isinstance(bad.exception, ProbeError) and "nope" in str(bad.exception)
    nodir = runner.invoke(_cli(), ["reclassify", "--store", str(path), "--fingerprints", str(tmp_path / "x")])
    assert isinstance(nodir.exception, ProbeError)


def test_custom_fingerprints_and_lab_ranges(tmp_path: Path) -> None:
    path = tmp_path / "probe.sqlite"
    _fill(path)
    fps = tmp_path / "fps"
    fps.mkdir()
    (fps / "mine.csv").write_text(
        "name,scope,other_names,location_found,pattern_type,pattern,confidence_no_fp,expected_countries,"
        "source,exp_url,notes\nmine,isp,,body,contains,ограничен,5,KZ,me,,mine\nbad,isp,,cookie,contains,x,5,,,,\n",
        encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["reclassify", "--store", str(path), "--fingerprints", str(fps),
                                         "--not-bogon", "198.18.0.0/15"])
    assert result.exit_code == 0, result.output
    assert "warning: fingerprints:" in result.output  # the unusable row is reported (stderr mixed in)
    with Store.open(path) as store:
        labels = {e.verdict.fingerprint for e in store.entries() if e.verdict}
    assert "mine" in labels


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(_cli(), ["reclassify", "--help"])
    assert "Example:" in result.output and "probe reclassify" in result.output
