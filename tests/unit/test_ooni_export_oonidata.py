"""Every line we export in OONI's format loads in oonidata, OONI's own data library.

oonidata pins older packages than ours (cryptography 38), so `scripts/bootstrap --dev` installs it in
its own environment, `.venv-ooni/`; these tests run its loader there in a subprocess
(`scripts/oonidata_check.py`) over: every golden lab measurement (76 real lab runs), the synthetic
samples (decoy handshakes, a DNS wire reply, a MITM chain), an IP-literal URL, and the
`ooni/web_connectivity.jsonl` of a real bundle and of `probe export --format ooni`.
"""

from __future__ import annotations

import base64
import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from evidence_samples import dns_nxdomain, sample_set, sni_filtered

from probe.cli.main import cli
from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.export import export_bundle
from probe.evidence.keys import generate_key, load_signer
from probe.evidence.ooni.export import to_ooni
from probe.models import Measurement, Verdict
from probe.store import EntryFilter, Store

ROOT = Path(__file__).resolve().parents[2]
OONI_PYTHON = ROOT / ".venv-ooni" / "bin" / "python"
CHECKER = ROOT / "scripts" / "oonidata_check.py"
GOLDEN = Path(__file__).parent / "golden"


def oonidata_check(path: Path) -> str:
    """Run oonidata's loader over a JSONL file; fail the test on any rejection."""
    assert OONI_PYTHON.exists(), f"{OONI_PYTHON} is missing: run `scripts/bootstrap --dev` (it installs oonidata)"
    done = subprocess.run([str(OONI_PYTHON), str(CHECKER), str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout


def _golden_lines() -> list[dict[str, Any]]:
    lines = []
    for path in sorted(GOLDEN.glob("*.json")):
        case = json.loads(path.read_text())
        m = Measurement.model_validate(case["measurement"])
        bodies = {k: base64.b64decode(v) for k, v in case["bodies"].items()}
        v = Verdict.model_validate({**case["expected"], "rules_version": "test"})
        lines.append(to_ooni(m, v, bodies.get))
    return lines


def test_golden_and_sample_measurements_load_in_oonidata(tmp_path: Path) -> None:
    lines = _golden_lines()
    assert len(lines) >= 70
    for m, artifacts, v in sample_set(1):
        lines.append(to_ooni(m, v, {a.sha256: a.data for a in artifacts}.get))
    m, artifacts, v = sni_filtered(0, _when())
    literal = m.model_copy(update={"input": "https://10.77.2.10/", "queries": [], "tls_handshakes": []})
    lines.append(to_ooni(literal, v, {a.sha256: a.data for a in artifacts}.get))
    out = tmp_path / "all.jsonl"
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert f"checked {len(lines)}, rejected 0" in oonidata_check(out)


def _when() -> Any:
    from evidence_samples import START
    return START


def test_export_fixes_the_points_oonidata_and_the_pipeline_need() -> None:
    m, artifacts, v = sni_filtered(0, _when())
    data = {a.sha256: a.data for a in artifacts}
    record = to_ooni(m, v, data.get)
    keys = record["test_keys"]
    assert record["measurement_uid"] and record["report_id"]
    for key in ("dns_experiment_failure", "dns_consistency", "http_experiment_failure", "body_length_match",
                "body_proportion", "status_code_match", "headers_match", "title_match", "control_failure"):
        assert key in keys
    assert all(h["server_name"] == "selftanu.kz" for h in keys["tls_handshakes"])  # no decoy among them
    assert keys["x_probe_decoy_tls_handshakes"] and keys["x_probe_label"] == v.label
    nx, nx_artifacts, nx_v = dns_nxdomain(0, _when())
    nx_keys = to_ooni(nx, nx_v, {a.sha256: a.data for a in nx_artifacts}.get)["test_keys"]
    udp = [q for q in nx_keys["queries"] if q["engine"] == "udp"][0]
    assert udp["rcode"] == 3 and udp["resolver_address"].endswith(":53")
    assert base64.b64decode(udp["raw_response"])  # the wire reply, not null
    no_control = to_ooni(m.model_copy(update={"control": None, "control_failure": "no control configured"}),
                         v, data.get)["test_keys"]
    assert no_control["control_failure"] == "unknown_failure: no control configured"
    literal = to_ooni(m.model_copy(update={"input": "http://10.77.2.10/", "queries": []}), v, data.get)
    assert literal["test_keys"]["queries"][0]["answers"] == [{"answer_type": "A", "ipv4": "10.77.2.10"}]


def test_bundle_and_standalone_ooni_export_load_in_oonidata(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k")
    with Store.open(tmp_path / "s.sqlite") as store:
        for m, a, v in sample_set(2):
            store.append(m, a, v, signer=load_signer(tmp_path / "k"))
        export_bundle(store, tmp_path / "b.zip", key=key, filt=EntryFilter())
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        (tmp_path / "bundle.jsonl").write_bytes(zf.read(mf.OONI))
    assert "checked 12, rejected 0" in oonidata_check(tmp_path / "bundle.jsonl")
    done = CliRunner().invoke(cli, ["export", "--format", "ooni", "--out", str(tmp_path / "o.jsonl"),
                                    "--store", str(tmp_path / "s.sqlite")])
    assert done.exit_code == 0, done.output
    assert "checked 12, rejected 0" in oonidata_check(tmp_path / "o.jsonl")
    assert (tmp_path / "o.jsonl").read_bytes() == (tmp_path / "bundle.jsonl").read_bytes()




def test_resolver_addresses_in_ooni_spellings() -> None:
    from probe.evidence.ooni.export import _bare_ip
    from probe.evidence.ooni.keys import resolver_with_port

    assert [_bare_ip(a) for a in ("fd77::1", "[fd77::1]:53", "10.77.1.1:53", "")] == \
        ["fd77::1", "fd77::1", "10.77.1.1", ""]
    assert [resolver_with_port("udp", a) for a in ("fd77::1", "[fd77::1]", "10.77.1.1", "10.77.1.1:5353")] == \
        ["[fd77::1]:53", "[fd77::1]:53", "10.77.1.1:53", "10.77.1.1:5353"]
    assert resolver_with_port("getaddrinfo", "") == "" and resolver_with_port("doh", "https://x/dns") == "https://x/dns"
