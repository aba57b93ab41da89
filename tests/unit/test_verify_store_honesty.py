"""Issue 18 #5: `verify --store` says exactly what it saw, and a store rewritten or emptied by someone
without the probe's key fails.

Every attack works on the file with plain SQL, around the append-only triggers.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evidence_samples import sample_set

from probe.cli.main import cli
from probe.evidence.keys import generate_key, load_signer
from probe.evidence.verify.result import VerifyResult
from probe.evidence.verify.store import verify_store
from probe.models.canonical import GENESIS_HASH, chain_hash, sha256_hex
from probe.store import Store


def _make(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey, Path]:
    key_path = tmp_path / "k"
    key = generate_key(key_path)
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        store.start_run("run-1", "kz")
        for m, a, v in sample_set(1):
            store.append(m, a, v, run_id="run-1", signer=load_signer(key_path))
        store.finish_run("run-1", "finished", signer=load_signer(key_path))
    return path, key, key_path


def _sql(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for row in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {row[0]}")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _verify(path: Path, key: Ed25519PrivateKey | None) -> VerifyResult:
    with Store.open(path) as store:
        return verify_store(store, public_key=key.public_key() if key else None)


def _fails(result: VerifyResult) -> str:
    return "\n".join(str(f) for f in result.failures)


def _rechain_everything(path: Path) -> None:
    """Edit one record, recompute every hash of every link in chain order, drop every signature."""
    conn = sqlite3.connect(path)
    tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
              if t in ("measurements", "chain_records")]
    rows = sorted((seq, table, record) for table in tables
                  for seq, record in conn.execute(f"SELECT seq, record FROM {table}"))
    conn.close()
    statements = []
    prev = GENESIS_HASH
    for n, (seq, table, record) in enumerate(rows):
        if n == 0 and table == "measurements":
            record = record.replace("10.77.", "10.78.")
        rec = sha256_hex(record.encode())
        link = chain_hash(prev, rec)
        escaped = record.replace("'", "''")
        statements.append(f"UPDATE {table} SET record='{escaped}', record_sha256='{rec}', prev_hash='{prev}', "
                          f"chain_hash='{link}', signature=NULL, key_fingerprint=NULL WHERE seq={seq}")
        prev = link
    _sql(path, *statements)


def test_a_fully_rechained_unsigned_store_fails(tmp_path: Path) -> None:
    path, key, _ = _make(tmp_path)
    _rechain_everything(path)
    result = _verify(path, key)
    text = _fails(result)
    assert not result.ok
    assert "none of its" in text and "is signed by this probe's key" in text, text
    assert not any("stored before a key existed" in str(f) for f in result.findings)


def test_every_row_deleted_fails(tmp_path: Path) -> None:
    path, key, _ = _make(tmp_path)
    tables = ["verdicts", "measurements", "artifacts", "runs"]
    conn = sqlite3.connect(path)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name='chain_records'").fetchone():
        tables.append("chain_records")
    conn.close()
    _sql(path, *(f"DELETE FROM {t}" for t in tables))
    result = _verify(path, key)
    assert not result.ok
    assert "were deleted" in _fails(result), _fails(result)


def test_a_store_truncated_to_zero_bytes_fails(tmp_path: Path) -> None:
    path, _, key_path = _make(tmp_path)
    for extra in tmp_path.glob("s.sqlite-*"):
        extra.unlink()
    path.write_bytes(b"")
    result = CliRunner().invoke(cli, ["verify", "--store", str(path), "--key", str(key_path)])
    assert result.exit_code == 1, result.output
    assert "0 bytes" in result.output
    assert path.stat().st_size == 0  # verify never writes a store it checks into being


def test_edits_to_runs_are_named(tmp_path: Path) -> None:
    path, key, _ = _make(tmp_path)
    _sql(path, "UPDATE runs SET counts='{\"ok\": 999}', list_name='other' WHERE run_id='run-1'")
    text = _fails(_verify(path, key))
    assert "run run-1" in text and "signed run record" in text, text


def test_verify_says_what_the_store_alone_cannot_show(tmp_path: Path) -> None:
    path, key, key_path = _make(tmp_path)
    result = CliRunner().invoke(cli, ["verify", "--store", str(path), "--key", str(key_path)])
    assert result.exit_code == 0, result.output
    assert "deleting the newest" in result.output and "cannot be seen from the store alone" in result.output


def test_a_run_closed_again_without_the_key_is_not_covered_but_not_tampering(tmp_path: Path) -> None:
    path, key, key_path = _make(tmp_path)
    with Store.open(path) as store:
        store.start_run("run-1", "kz")  # continued (the daemon resumes it), then killed …
        store.finish_run("run-1", "interrupted")  # … and closed at the next start, without the key
    result = _verify(path, key)
    assert result.ok, _fails(result)
    assert any(f.where == "run run-1" and "is not covered" in f.message for f in result.findings)
