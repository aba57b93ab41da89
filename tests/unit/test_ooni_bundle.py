"""Imported OONI measurements in a bundle, its report and `probe verify`: beside ours, labelled as
OONI's, never in our chain or signed as ours."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner
from evidence_samples import sample_set

from probe.classify import build_context, load_fingerprints
from probe.cli.main import cli
from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.export import export_bundle
from probe.evidence.bundle.third_party import MEMBER
from probe.evidence.keys import generate_key, load_signer
from probe.evidence.verify.bundle import verify_bundle
from probe.ooni.importer import import_ooni
from probe.store import EntryFilter, Store
from probe.store.third_party import ThirdPartyStore

DATA = Path(__file__).resolve().parents[1] / "data" / "ooni-measurements"


def _store(tmp_path: Path) -> tuple[Path, Path]:
    db, key = tmp_path / "s.sqlite", tmp_path / "k"
    generate_key(key)
    with Store.open(db) as store:
        for m, a, v in sample_set(1):
            store.append(m, a, v, signer=load_signer(key))
    files = sorted(DATA.glob("synthetic-qa/*/measurement.json")) + sorted(DATA.glob("real/*.json"))
    with ThirdPartyStore.open(db) as third:
        summary = import_ooni(files, store=third, context=build_context(fingerprints=load_fingerprints(None)))
    assert summary.imported == 57
    return db, key


def test_bundle_carries_ooni_measurements_apart_and_verify_says_whose_they_are(tmp_path: Path) -> None:
    db, key_path = _store(tmp_path)
    from probe.evidence.keys import load_private_key

    with Store.open(db) as store:
        export_bundle(store, tmp_path / "b.zip", key=load_private_key(key_path), filt=EntryFilter())
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        manifest = json.loads(zf.read(mf.MANIFEST))
        ooni_lines = [json.loads(line) for line in zf.read(MEMBER).splitlines()]
        ours = zf.read(mf.MEASUREMENTS).splitlines()
        exported = zf.read(mf.OONI).splitlines()
        report = zf.read(mf.REPORT).decode()
    assert len(manifest["measurements"]) == len(ours) == len(exported) == 6  # the chain holds only ours
    assert len(ooni_lines) == 57 and all(line["source"] == "ooni" and "not measured or signed by this probe"
                                         in line["what"] for line in ooni_lines)
    assert {"ooni_blocking", "our_verdict", "measurement", "link", "probe_asn"} <= set(ooni_lines[0])
    assert MEMBER in {f["path"] for f in manifest["files"]}
    assert "OONI's measurements (third-party evidence)" in report and "Blocked websites" in report
    assert "explorer.ooni.org/measurement/20230405T200033Z" in report
    result = verify_bundle(tmp_path / "b.zip")
    assert result.ok, [str(f) for f in result.failures]
    assert result.checked["third-party (OONI) measurements"] == 57
    assert any("not this probe's" in f.message for f in result.findings if f.where == MEMBER)


def test_a_changed_ooni_measurement_fails_verify(tmp_path: Path) -> None:
    db, key_path = _store(tmp_path)
    from probe.evidence.keys import load_private_key

    with Store.open(db) as store:
        export_bundle(store, tmp_path / "b.zip", key=load_private_key(key_path), filt=EntryFilter())
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    lines = members[MEMBER].splitlines()
    first = json.loads(lines[0])
    first["measurement"]["test_keys"]["blocking"] = "dns"
    lines[0] = json.dumps(first, sort_keys=True).encode()
    members[MEMBER] = b"\n".join(lines) + b"\n"
    with zipfile.ZipFile(tmp_path / "t.zip", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    failures = [str(f) for f in verify_bundle(tmp_path / "t.zip").failures]
    assert any(MEMBER in f and "changed" in f for f in failures), failures


def test_cli_report_shows_ooni_beside_ours(tmp_path: Path) -> None:
    db, key_path = _store(tmp_path)
    done = CliRunner().invoke(cli, ["report", "--out", str(tmp_path / "r.html"), "--store", str(db),
                                    "--key", str(key_path)])
    assert done.exit_code == 0, done.output
    html = (tmp_path / "r.html").read_text()
    assert "OONI's measurements (third-party evidence)" in html and "What was found" in html


def test_report_section_shows_the_newest_and_says_where_the_rest_are() -> None:
    from probe.evidence.bundle.third_party import REPORT_ROWS, Shown, report_section

    shown = [Shown(time=f"2024-01-01T00:00:{i:06d}Z", network="n", input=f"http://x{i}.kz/", ooni="o",
                   ours="ok (likely)", link=None) for i in range(REPORT_ROWS + 7)]
    html = report_section(shown, in_bundle=False)
    assert "http://x6.kz/" not in html and "http://x7.kz/" in html and f"x{REPORT_ROWS + 6}.kz" in html
    assert "7 older ones are in the store" in html and "<script" not in report_section(
        [Shown(time="t", network="<script>", input="u", ooni="o", ours="v", link=None)])
