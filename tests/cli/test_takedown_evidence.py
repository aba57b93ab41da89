"""Takedowns as evidence: `probe results` history marks, report.html's takedown section with the
registry's raw answer and the matched fingerprint, and the OONI view's registry answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from probe.cli.results import results_command
from probe.evidence.ooni.export import to_ooni
from probe.evidence.report.page import ReportMeta, render_report
from probe.models import Artifact, ArtifactRef, Measurement, ProbeNetwork, Verdict
from probe.models.registry import RegistryObservation
from probe.store import Store

URL = "https://selftanu.kz/"
RAW = b"Domain Name............: selftanu.kz\n\nDomain status : serverHold <b>held</b>\n"
RAW_ART = Artifact.of("registry_answer", RAW)


def _m(i: int, url: str = URL, *, registry: bool = False) -> Measurement:
    obs = [RegistryObservation(protocol="whois", server="whois.nic.kz:43", domain="selftanu.kz", t0=1.0, t=1.2,
                               found=True, statuses=["serverHold <b>held</b>"], raw_sha256=RAW_ART.sha256,
                               raw_length=len(RAW))] if registry else []
    return Measurement(measurement_id=f"00000000-0000-4000-8000-{i:012d}", input=url,
                       test_start_time=f"2026-02-{10 + i:02d}T10:00:00.000000Z", measurement_runtime_s=0.1,
                       software_version="test", network=ProbeNetwork(probe_asn="AS9198", probe_cc="KZ"),
                       registry=obs, artifacts=[ArtifactRef(sha256=RAW_ART.sha256, kind="registry_answer",
                                                            size=len(RAW))] if registry else [])


def _v(label: str, fingerprint: str | None = None) -> Verdict:
    return Verdict(label=label, confidence="likely", blocking=False, accessible=label == "ok",  # type: ignore[arg-type]
                   reasons=[f"because {label}"], fingerprint=fingerprint)


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    path = tmp_path / "probe.sqlite"
    with Store.open(path) as s:
        s.append(_m(0), verdict=_v("ok"))
        s.append(_m(1), verdict=_v("down"))
        s.append(_m(2, registry=True), [RAW_ART], verdict=_v("dns.takedown"))
        s.append(_m(3, "http://back.kz/"), verdict=_v("ok"))
        s.append(_m(4, "http://back.kz/"), verdict=_v("down"))
        s.append(_m(5, "http://back.kz/"), verdict=_v("ok"))
    return path


def test_results_mark_reachable_then_unavailable_everywhere(store: Path) -> None:
    out = CliRunner().invoke(results_command, ["--store", str(store), "--json"])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    marked = {line["input"]: line["history"] for line in lines if "history" in line}
    assert list(marked) == [URL]  # back.kz came back: no mark
    mark = marked[URL]
    assert mark["reachable_measurement"].endswith("000000000000") and mark["unavailable_measurement"].endswith("1")
    assert mark["note"].startswith("reachable until 2026-02-10 10:00 UTC, unavailable everywhere since 2026-02-11")
    table = CliRunner().invoke(results_command, ["--store", str(store)])
    assert "History marks (for review):" in table.stdout and "reachable until" in table.stdout


def test_only_the_rows_shown_get_marks_but_from_their_whole_history(store: Path) -> None:
    out = CliRunner().invoke(results_command, ["--store", str(store), "--json", "--url", URL, "--limit", "1"])
    (line,) = [json.loads(x) for x in out.stdout.splitlines()]
    assert line["history"]["reachable_until"].startswith("2026-02-10")


def test_report_shows_the_registry_raw_answer_escaped_and_the_marks(store: Path) -> None:
    meta = ReportMeta(generated_at="2026-02-20T00:00:00Z", software_version="test")
    with Store.open(store, create=False) as s:
        html = render_report(((e.measurement(), e.verdict) for e in s.entries()), meta, artifact_bytes=s.artifact)
    assert "Taken down for everyone" in html
    assert "Domain status : serverHold &lt;b&gt;held&lt;/b&gt;" in html and "<b>held</b>" not in html
    assert RAW_ART.sha256 in html
    assert "Reachable, then unavailable everywhere (for review)" in html
    assert "00000000-0000-4000-8000-000000000001" in html  # the first unavailable measurement, linked by id


def test_report_names_the_fingerprint_of_a_site_takedown() -> None:
    meta = ReportMeta(generated_at="2026-02-20T00:00:00Z", software_version="test")
    html = render_report([(_m(0), _v("site.takedown", "takedown.seized_en"))], meta)
    assert "takedown.seized_en" in html and "badge takedown" in html


def test_the_ooni_view_carries_the_registry_answer() -> None:
    m = _m(2, registry=True)
    doc = to_ooni(m, _v("dns.takedown"), artifact_of=lambda sha: RAW if sha == RAW_ART.sha256 else None)
    (reg,) = doc["test_keys"]["x_probe_registry"]
    assert reg["asked_by"] == "probe" and reg["statuses"] == ["serverHold <b>held</b>"]
    assert reg["raw"]["format"] == "base64" and doc["test_keys"]["blocking"] is False


def test_show_lists_the_registry_look_up(store: Path) -> None:
    from probe.cli.results import show_command

    out = CliRunner().invoke(show_command, ["00000000-0000-4000-8000-000000000002", "--store", str(store)],
                             terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "registry whois" in out.stdout and "serverHold" in out.stdout and "whois.nic.kz:43" in out.stdout


def test_a_bundle_with_a_takedown_verifies_and_carries_the_raw_answer(tmp_path: Path) -> None:
    """export writes the report from the store's bytes; verify renders it again from the bundle's."""
    import os
    import subprocess
    import sys
    import zipfile

    from probe.evidence.keys import load_signer

    key = tmp_path / "config" / "probe_ed25519.key"
    env = {**os.environ, "PROBE_KEY": str(key)}

    def probe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, timeout=60,
                              env=env)

    assert probe("init", "--yes").returncode == 0
    path = tmp_path / "probe.sqlite"
    with Store.open(path) as s:
        s.append(_m(0), verdict=_v("ok"), signer=load_signer(key))
        s.append(_m(2, registry=True), [RAW_ART], verdict=_v("dns.takedown"), signer=load_signer(key))
    out = tmp_path / "takedown.zip"
    made = probe("export", "--store", str(path), "--out", str(out))
    assert made.returncode == 0, made.stderr
    checked = probe("verify", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with zipfile.ZipFile(out) as z:
        assert RAW in [z.read(n) for n in z.namelist() if n.endswith(".bin")]
        assert "Domain status : serverHold &lt;b&gt;held&lt;/b&gt;" in z.read("report.html").decode()
