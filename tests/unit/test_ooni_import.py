"""`probe import ooni`: OONI's published measurements in, classified by our rules, kept apart as
third-party evidence. Uses the OONI data copied into tests/data/ooni-measurements (see its SOURCE.txt:
50 QA measurements from OONI's simulated network and 7 real ones) and files made from them."""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from probe.classify import build_context, load_fingerprints
from probe.cli.main import cli
from probe.models.verdict import is_blocked_label
from probe.ooni.importer import import_ooni
from probe.store import Store
from probe.store.third_party import ThirdPartyFilter, ThirdPartyStore

DATA = Path(__file__).resolve().parents[1] / "data" / "ooni-measurements"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "verdicts.md"
CONTEXT = build_context(fingerprints=load_fingerprints(None))
SUCCESS = DATA / "synthetic-qa" / "successWithHTTPS" / "measurement.json"


def _all_files() -> list[Path]:
    return sorted(DATA.glob("synthetic-qa/*/measurement.json")) + sorted(DATA.glob("real/*.json"))


def _expected() -> dict[str, dict[str, str]]:
    with open(DATA / "expected.tsv", encoding="utf-8", newline="") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)}


def _import(tmp_path: Path, paths: list[Path], **kw: Any) -> tuple[Any, Path]:
    db = tmp_path / "s.sqlite"
    with ThirdPartyStore.open(db) as store:
        return import_ooni(paths, store=store, context=CONTEXT, **kw), db


def test_every_shared_ooni_measurement_imports_with_its_reviewed_verdict(tmp_path: Path) -> None:
    files = _all_files()
    assert len(files) == 57  # 50 QA scenarios + 7 real measurements
    summary, db = _import(tmp_path, files)
    assert (summary.read, summary.imported, summary.problems) == (57, 57, [])
    expected = _expected()
    got = {}
    with ThirdPartyStore.open(db) as store:
        for row in store.entries():
            folder, name = row.imported_from.split("/")
            got[f"real/{name}" if folder == "real" else f"synthetic-qa/{folder}/{name}"] = row
    assert set(got) == set(expected)
    docs = DOCS.read_text(encoding="utf-8")
    for key, want in expected.items():
        row = got[key]
        assert row.verdict.label == want["our_label"], f"{key}: {row.verdict.label} {row.verdict.reasons}"
        assert json.dumps(row.source_blocking) == want["ooni_blocking"]
        ooni_blocked = isinstance(row.source_blocking, str)
        if row.verdict.blocking != row.source_blocking:  # every difference from OONI is explained in the docs
            scenario = key.split("/")[1].removesuffix(".json")
            assert f"`{scenario}`" in docs, f"{key}: differs from OONI and docs/verdicts.md is silent"
        if ooni_blocked != is_blocked_label(row.verdict.label):
            assert want["agrees"] == "differ"


def test_third_party_rows_are_labelled_and_kept_out_of_our_chain(tmp_path: Path) -> None:
    real = DATA / "real" / "VE_AS21980_noticiasvenezuela_http-blockpage-fortiguard_2023.json"
    _, db = _import(tmp_path, [real])
    with Store.open(db) as ours:
        assert ours.count() == 0 and ours.head()[0] == 0  # nothing entered our hash chain
    (row,) = list(ThirdPartyStore.open(db).entries())
    assert row.source == "ooni" and row.report_id == "20230405T200033Z_webconnectivity_VE_21980_n1_2jFbUAY4oM1TPlf6"
    assert (row.probe_cc, row.probe_asn) == ("VE", "AS21980") and row.probe_network_name
    assert row.link is not None and row.link.startswith("https://explorer.ooni.org/measurement/20230405T200033Z")
    assert row.verdict.label == "http.blockpage" and row.source_blocking == "http-diff"
    assert json.loads(row.raw) == json.loads(real.read_text())  # OONI's measurement, kept as published


def test_importing_the_same_measurements_twice_adds_nothing(tmp_path: Path) -> None:
    files = _all_files()[:10]
    first, db = _import(tmp_path, files)
    jsonl = tmp_path / "same.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as out:  # the same measurements, as one gzip JSONL can
        for path in files:
            out.write(json.dumps(json.loads(path.read_text())) + "\n")
    with ThirdPartyStore.open(db) as store:
        again = import_ooni([*files, jsonl], store=store, context=CONTEXT)
        assert store.count() == 10
    assert (first.imported, again.imported, again.duplicates) == (10, 0, 20)


def _line(uid: str, **changes: Any) -> str:
    raw = json.loads(SUCCESS.read_text())
    return json.dumps({**raw, "measurement_uid": uid, **changes}) + "\n"


def test_bad_lines_are_named_and_the_rest_is_imported(tmp_path: Path) -> None:
    good = _line("20240101000000.000000_IT_webconnectivity_a")
    jsonl = tmp_path / "mixed.jsonl"
    jsonl.write_text(good + '{"test_name": "web_conn\n' + _line("u2", test_name="dnscheck") + "[1, 2]\n"
                     + _line("u3", measurement_start_time="yesterday") + "\n"
                     + _line("20240101000000.000000_IT_webconnectivity_b") + good[: len(good) // 2])
    summary, db = _import(tmp_path, [jsonl])
    assert summary.imported == 2 and summary.skipped_tests == {"dnscheck": 1}
    assert [p.split(":")[:2] for p in summary.problems] == [["mixed.jsonl", "2"], ["mixed.jsonl", "4"],
                                                            ["mixed.jsonl", "5"], ["mixed.jsonl", "8"]]
    assert "cut short" in summary.problems[-1] and "measurement_start_time" in summary.problems[2]


def test_a_truncated_gzip_keeps_what_was_read_and_says_where_it_stopped(tmp_path: Path) -> None:
    data = gzip.compress("".join(_line(f"uid-{i}") for i in range(30)).encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    summary, _ = _import(tmp_path, [cut])
    assert 0 < summary.imported < 30 and len(summary.problems) == 1
    assert summary.problems[0].startswith("cut.jsonl.gz:") and "ends early" in summary.problems[0]


def test_api_wrapped_measurement_is_unwrapped(tmp_path: Path) -> None:
    wrapped = tmp_path / "api.json"
    wrapped.write_text(json.dumps({"measurement_uid": "x", "raw_measurement": SUCCESS.read_text()}, indent=2))
    summary, _ = _import(tmp_path, [wrapped])
    assert (summary.imported, summary.problems) == (1, [])


def test_a_large_jsonl_streams_in_bounded_memory(tmp_path: Path) -> None:
    """~40 MB of JSONL, 100 KB a line: memory held stays a small fraction of the file (the 1 GB figure is
    benchmarks/ooni_import.py's)."""
    raw = json.loads(SUCCESS.read_text())
    raw["test_keys"]["requests"][0]["response"]["body"] = "<html><title>Default Web Page</title>" + "x" * 100_000
    big = tmp_path / "big.jsonl"
    with open(big, "w", encoding="utf-8") as out:
        for i in range(400):
            out.write(json.dumps({**raw, "measurement_uid": f"uid-{i}"}) + "\n")
    size = big.stat().st_size
    tracemalloc.start()
    try:
        summary, _ = _import(tmp_path, [big], batch_bytes=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.imported == 400
    assert peak < size / 4, f"peak {peak >> 20} MiB for a {size >> 20} MiB file"


def test_cli_import_and_results_source(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(_line("a") + "not json\n")
    runner = CliRunner()
    done = runner.invoke(cli, ["import", "ooni", "--store", str(store), *map(str, _all_files()[:3]), str(bad)])
    assert done.exit_code == 1 and "bad.jsonl:2" in done.output and "4 imported" in done.output
    again = runner.invoke(cli, ["import", "ooni", "--store", str(store), *map(str, _all_files()[:3])])
    assert again.exit_code == 0 and "0 imported, 3 already stored" in again.output
    listed = runner.invoke(cli, ["results", "--source", "ooni", "--store", str(store), "--json"])
    lines = [json.loads(line) for line in listed.output.splitlines() if line.startswith("{")]
    assert len(lines) == 4 and all(line["source"] == "ooni" and "ooni_blocking" in line for line in lines)
    own = runner.invoke(cli, ["results", "--store", str(store)])
    assert "no stored measurement matches" in own.output
    missing = runner.invoke(cli, ["import", "ooni", "--store", str(store), str(tmp_path / "nope.json")])
    assert missing.exit_code != 0 and "no such file" in str(missing.exception)


def test_third_party_rows_cannot_be_deleted(tmp_path: Path) -> None:
    _, db = _import(tmp_path, [SUCCESS])
    with pytest.raises(sqlite3.DatabaseError, match="kept"):
        sqlite3.connect(db).execute("DELETE FROM third_party_measurements")
    assert ThirdPartyStore.open(db).count(ThirdPartyFilter(source="ooni")) == 1


def _mutations(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (dict keys and list indexes)."""
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_mutations(v, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            out.extend(_mutations(v, (*path, i)))
    return out


def test_hostile_measurements_never_crash_the_import(tmp_path: Path) -> None:
    """Every field of a real LTE measurement replaced by each wrong type: each line is imported or named
    as unreadable (file:line), and nothing raises."""
    import random

    raw = json.loads((DATA / "synthetic-qa" / "redirectWithConsistentDNSAndThenConnectionResetForHTTPS"
                      / "measurement.json").read_text())
    paths = [p for p in _mutations(raw) if p]
    rng = random.Random(12)
    lines = []
    for n, path in enumerate(rng.sample(paths, min(len(paths), 150))):
        for wrong in (None, -1, "x", [], {}, 1e308, [None], {"a": None}):
            copy = json.loads(json.dumps(raw))
            target = copy
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = wrong
            copy["measurement_uid"] = f"m{n}-{json.dumps(wrong)}"
            lines.append(json.dumps(copy))
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text("\n".join(lines) + "\n" + "[" * 100_000 + "\n")
    summary, _ = _import(tmp_path, [hostile])
    assert summary.imported + len(summary.problems) + sum(summary.skipped_tests.values()) + summary.duplicates \
        == len(lines) + 1
    assert all(p.startswith("hostile.jsonl:") for p in summary.problems)


def test_the_qa_measurements_carry_the_values_peer_scenarios_expects() -> None:
    """The copied QA data is what the checklist says: OONI's blocking/accessible per scenario."""
    table = {}
    for line in (DATA / "PEER-SCENARIOS.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 10 and cells[1].startswith("`"):  # a description may hold a "|" (RST|ACK)
            table[cells[1].strip("`")] = (cells[-6], cells[-5])
    assert len(table) == 50
    for name, (blocking, accessible) in table.items():
        keys = json.loads((DATA / "synthetic-qa" / name / "measurement.json").read_text())["test_keys"]
        assert (json.dumps(keys["blocking"]).strip('"'), json.dumps(keys["accessible"])) == (blocking, accessible)


@pytest.mark.parametrize(("failure", "label"), [("ssl_unknown_authority", "tls.mitm"),
                                                ("connection_reset", "tls.reset")])
def test_a_04_handshake_failure_is_read_as_tls_not_http(tmp_path: Path, failure: str, label: str) -> None:
    """web_connectivity 0.4 writes a failed handshake's failure on the request too, and no address: the
    2019-2020 Kazakhstan interception looks like this. Our rules must see the handshake fail, at the
    address the connect reached."""
    raw = json.loads((DATA / "real" / "IT_AS30722_example-com_accessible_wc0.4.0_2021_unsubmitted.json").read_text())
    keys = raw["test_keys"]
    keys["tls_handshakes"][0]["failure"] = keys["requests"][0]["failure"] = failure
    keys["requests"][0]["response"] = None
    edited = tmp_path / "kz-like.json"
    edited.write_text(json.dumps(raw))
    _, db = _import(tmp_path, [edited])
    (row,) = list(ThirdPartyStore.open(db).entries())
    assert row.verdict.label == label, row.verdict.reasons
    assert row.measurement().tls_handshakes[0].ip == "93.184.216.34" and not row.measurement().requests
