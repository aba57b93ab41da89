"""Issue 18 #2: every verdict the probe states is a signed, chained record; the `verdicts` table is
only an index that `verify --store` checks against those records, and export and bundle verification
believe the records alone.

Tampering goes around the store's append-only triggers with plain SQL, as an attacker with the
file would.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evidence_samples import sample_set

from probe.errors import EvidenceError
from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.export import export_bundle
from probe.evidence.keys import generate_key, load_signer
from probe.evidence.verify.bundle import verify_bundle
from probe.evidence.verify.result import VerifyResult
from probe.evidence.verify.store import verify_store
from probe.models.canonical import canonical_json, chain_hash, sha256_hex
from probe.store import EntryFilter, Store
from probe.store.schema import MIGRATIONS, migrate

BLOCKPAGE_VERDICT = {"label": "http.blockpage", "confidence": "confirmed", "blocking": "http-diff",
                     "accessible": False, "reasons": ["matches the control's page"], "sni_filtering": False,
                     "fingerprint": None, "mitm_issuer": None, "rules_version": "1"}


def _make(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey, Path]:
    key_path = tmp_path / "k"
    key = generate_key(key_path)
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        for m, a, v in sample_set(1):
            store.append(m, a, v, signer=load_signer(key_path))
    return path, key, key_path


def _ok_id(path: Path) -> str:
    with Store.open(path) as store:
        return next(e.measurement_id for e in store.entries() if e.verdict and e.verdict.label == "ok")


def _forge_blocked(path: Path, measurement_id: str) -> None:
    """The issue's attack: one `ok` row in `verdicts` becomes a confirmed blockpage."""
    conn = sqlite3.connect(path)
    conn.execute("UPDATE verdicts SET label='http.blockpage', blocked=1, verdict=? WHERE measurement_id=?",
                 (json.dumps(BLOCKPAGE_VERDICT), measurement_id))
    conn.commit()
    conn.close()


def _fails(result: VerifyResult) -> str:
    return "\n".join(str(f) for f in result.failures)


def test_an_edited_verdict_row_fails_verify_store(tmp_path: Path) -> None:
    path, key, _ = _make(tmp_path)
    victim = _ok_id(path)
    _forge_blocked(path, victim)
    with Store.open(path) as store:
        result = verify_store(store, public_key=key.public_key())
    text = _fails(result)
    assert not result.ok
    assert victim in text and "http.blockpage" in text and "signed verdict" in text, text


@pytest.mark.parametrize("json_too", [True, False])
def test_export_refuses_a_verdict_no_signed_record_backs(tmp_path: Path, json_too: bool) -> None:
    path, key, _ = _make(tmp_path)
    victim = _ok_id(path)
    if json_too:
        _forge_blocked(path, victim)
    else:  # only the columns `--verdict blocked` selects on
        conn = sqlite3.connect(path)
        conn.execute("UPDATE verdicts SET label='http.blockpage', blocked=1 WHERE measurement_id=?", (victim,))
        conn.commit()
        conn.close()
    with Store.open(path) as store, pytest.raises(EvidenceError, match="signed verdict record says ok"):
        export_bundle(store, tmp_path / "b.zip", key=key, filt=EntryFilter(verdict="blocked"))
    assert not (tmp_path / "b.zip").exists()


def _resigned(src: Path, dst: Path, key: Ed25519PrivateKey, edit_verdict: str) -> Path:
    """A bundle whose verdict lines (ours and OONI's) were changed and whose manifest the probe's own
    key signed again: what the old export produced from an edited `verdicts` table."""
    with zipfile.ZipFile(src) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    lines = []
    for line in files[mf.VERDICTS].splitlines():
        row = json.loads(line)
        if row["measurement_id"] == edit_verdict:
            row["verdict"] = BLOCKPAGE_VERDICT
        lines.append(canonical_json(row))
    files[mf.VERDICTS] = b"\n".join(lines) + b"\n"
    ooni = []
    for line in files[mf.OONI].splitlines():
        row = json.loads(line)
        if row.get("x_probe_measurement_id") == edit_verdict:
            row["test_keys"]["blocking"], row["test_keys"]["accessible"] = "http-diff", False
        ooni.append(canonical_json(row))
    files[mf.OONI] = b"\n".join(ooni) + b"\n"
    manifest = json.loads(files[mf.MANIFEST])
    del files[mf.SHA256SUMS]
    listed = [{"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
              for name, data in sorted(files.items()) if name not in mf.UNLISTED]
    files[mf.SHA256SUMS] = mf.sha256sums([mf.FileEntry.model_validate(f) for f in listed])
    manifest["files"] = sorted([*listed, {"path": mf.SHA256SUMS, "sha256": hashlib.sha256(
        files[mf.SHA256SUMS]).hexdigest(), "size": len(files[mf.SHA256SUMS])}], key=lambda f: f["path"])
    files[mf.MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    files[mf.SIGNATURE] = key.sign(files[mf.MANIFEST])
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return dst


def test_verify_bundle_fails_verdicts_no_signed_record_backs(tmp_path: Path) -> None:
    path, key, _ = _make(tmp_path)
    victim = _ok_id(path)
    with Store.open(path) as store:
        export_bundle(store, tmp_path / "b.zip", key=key, filt=EntryFilter())
    clean = verify_bundle(tmp_path / "b.zip")
    assert clean.ok, _fails(clean)
    assert clean.checked["verdict records"] == 6 and clean.checked["stated verdicts"] >= 6
    forged = verify_bundle(_resigned(tmp_path / "b.zip", tmp_path / "f.zip", key, victim))
    text = _fails(forged)
    assert f"{mf.VERDICTS}: the verdict for measurement {victim} is not its signed verdict" in text, text
    assert f"{mf.OONI}: the verdict for measurement {victim} is not its signed verdict" in text, text


def test_reclassify_appends_a_signed_verdict_and_keeps_the_old(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from probe.cli.main import cli

    path, key, key_path = _make(tmp_path)
    victim = _ok_id(path)
    with Store.open(path) as store:
        before = store.verdict_links(victim)
    assert len(before) == 1 and before[0].signature
    result = CliRunner().invoke(cli, ["reclassify", "--store", str(path), "--key", str(key_path)])
    assert result.exit_code == 0, result.output
    with Store.open(path) as store:
        assert store.verdict_links(victim)[0] == before[0]  # the old record stays
        kinds = [link.kind for link in store.links()]
        moved = [e for e in store.entries() if len(store.verdict_links(e.measurement_id)) > 1]
        check = verify_store(store, public_key=key.public_key())
    assert moved and kinds.count("verdict") == 6 + len(moved), result.output  # the samples' rules are not ours
    for entry in moved:
        assert entry.verdict is not None and entry.verdict.rules_version != "1"
    assert check.ok, _fails(check)
    assert check.checked["verdict signatures"] == 6 + len(moved)
    # Without the key, a signed store takes no unsigned verdict.
    refused = CliRunner().invoke(cli, ["reclassify", "--store", str(path), "--not-bogon", "10.0.0.0/8"],
                                 env={"PROBE_KEY": str(tmp_path / "none")})
    assert refused.exit_code != 0 and "refusing to add an unsigned one" in str(refused.exception)


def _legacy_store(path: Path) -> None:
    """A store as the version before verdicts were chained left it: verdict rows beside the chain."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, migrations=MIGRATIONS[:3])
    prev = "0" * 64
    for m, artifacts, v in sample_set(1):
        for a in artifacts:
            conn.execute("INSERT OR IGNORE INTO artifacts(sha256, kind, size, data, first_seen) VALUES (?,?,?,?,?)",
                         (a.sha256, a.kind, len(a.data), a.data, "2026-11-27T00:00:00.000000Z"))
        record = canonical_json(m.model_dump(mode="json"))
        rec = sha256_hex(record)
        link = chain_hash(prev, rec)
        conn.execute("INSERT INTO measurements(measurement_id, input, host, category_code, test_start_time,"
                     " probe_asn, probe_cc, run_id, record, record_sha256, prev_hash, chain_hash) "
                     "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     (m.measurement_id, m.input, (m.input.split("/")[2]).lower(), m.category_code,
                      m.test_start_time, m.network.probe_asn, m.network.probe_cc, None, record.decode(), rec,
                      prev, link))
        conn.execute("INSERT INTO verdicts VALUES (?,?,?,?,?,?)",
                     (m.measurement_id, v.label, int(v.blocked), v.model_dump_json(), v.rules_version,
                      "2026-11-27T00:00:00.000000Z"))
        prev = link
    conn.close()


def test_an_old_store_opens_and_its_verdicts_are_reported_unsigned(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _legacy_store(path)
    with Store.open(path) as store:
        result = verify_store(store, public_key=None)
    assert result.ok, _fails(result)
    assert any("6 verdict(s) are unsigned: they were made before verdicts were chained" in str(f)
               for f in result.findings), [str(f) for f in result.findings]


def test_an_old_store_exports_its_verdicts_unsigned_and_reclassify_signs_new_ones(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from probe.cli.main import cli

    path = tmp_path / "old.sqlite"
    _legacy_store(path)
    key_path = tmp_path / "k"
    key = generate_key(key_path)
    with Store.open(path) as store:
        # A signed measurement after the old ones, so the bundle is tied to the key.
        m, a, v = sample_set(2)[6]
        store.append(m, a, v, signer=load_signer(key_path))
        made = export_bundle(store, tmp_path / "b.zip", key=key, filt=EntryFilter())
    assert made.manifest.counts.unsigned_verdicts == 6  # never exported as signed
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        stated = [json.loads(line) for line in zf.read(mf.VERDICTS).splitlines()]
    assert sum(1 for row in stated if row["verdict"] is None) == 6
    checked = verify_bundle(tmp_path / "b.zip")
    assert checked.ok, _fails(checked)
    result = CliRunner().invoke(cli, ["reclassify", "--store", str(path), "--key", str(key_path)])
    assert result.exit_code == 0, result.output
    assert "7 measurements reclassified" in result.output
    with Store.open(path) as store:
        after = verify_store(store, public_key=key.public_key())
        assert all(store.verdict_links(e.measurement_id) for e in store.entries())
    assert after.ok, _fails(after)
    assert not any("are unsigned" in str(f) for f in after.findings)


def test_links_check_on_their_own_as_the_hub_will(tmp_path: Path) -> None:
    from dataclasses import replace

    from probe.evidence.verify.links import check_links

    path, key, _ = _make(tmp_path)
    with Store.open(path) as store:
        links = list(store.links())
    assert {link.kind for link in links} == {"key", "measurement", "verdict"}
    clean = check_links(links, public_key=key.public_key())
    assert clean.ok, _fails(clean)
    # A verdict record rewritten (ok -> blockpage) with its hash and link recomputed: the signature fails.
    victim = next(i for i, link in enumerate(links) if link.kind == "verdict" and '"label":"ok"' in link.record)
    forged = links[victim].record.replace('"label":"ok"', '"label":"http.blockpage"')
    rec = sha256_hex(forged.encode())
    links[victim] = replace(links[victim], record=forged, record_sha256=rec,
                            chain_hash=chain_hash(links[victim].prev_hash, rec))
    text = _fails(check_links(links, public_key=key.public_key()))
    assert f"verdict for measurement {links[victim].subject} (seq {links[victim].seq}): its signature does not " \
           "match" in text, text
