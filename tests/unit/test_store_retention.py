"""Retention in the store: artifacts age by their last citation, pruned bytes come back, old stores migrate.

Every store is a real SQLite file. Ageing is done the way time does it to a store: the artifacts'
timestamps are set in the past with plain SQL (the artifacts table has no append-only trigger).
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from evidence_samples import START, Sample, blockpage, sample_set, sni_filtered

from probe.evidence.keys import generate_key, load_signer
from probe.evidence.verify.result import VerifyResult
from probe.evidence.verify.store import verify_store
from probe.models.canonical import GENESIS_HASH, canonical_json, chain_hash, sha256_hex
from probe.store import Store
from probe.store.schema import MIGRATIONS, migrate

LONG_AGO = "2001-01-01T00:00:00.000000Z"
CUTOFF = "2002-01-01T00:00:00.000000Z"  # after LONG_AGO, long before anything stored by this test run


def _age_all_artifacts(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("UPDATE artifacts SET first_seen=?, last_seen=?", (LONG_AGO, LONG_AGO))
    conn.commit()
    conn.close()


def _row(path: Path, sha: str) -> tuple[str, str | None, str | None, bool]:
    """(first_seen, last_seen, pruned_at, has bytes) of one artifact, read with plain SQL."""
    conn = sqlite3.connect(path)
    row = conn.execute("SELECT first_seen, last_seen, pruned_at, data IS NOT NULL FROM artifacts WHERE sha256=?",
                       (sha,)).fetchone()
    conn.close()
    return str(row[0]), row[1], row[2], bool(row[3])


def _verify(path: Path, key: Ed25519PublicKey) -> VerifyResult:
    with Store.open(path, create=False) as store:
        return verify_store(store, public_key=key)


def _fails(result: VerifyResult) -> str:
    return "\n".join(str(f) for f in result.failures)


def test_prune_keeps_bytes_a_recent_measurement_also_produced(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    old_page, old_arts, old_v = blockpage(0, START)
    old_sni, sni_arts, sni_v = sni_filtered(1, START)
    with Store.open(path) as store:
        store.append(old_page, old_arts, old_v)
        store.append(old_sni, sni_arts, sni_v)
    _age_all_artifacts(path)
    new_page, new_arts, new_v = blockpage(2, START + timedelta(days=60))
    body = new_arts[0].sha256
    assert body == old_arts[0].sha256  # the same blockpage bytes, cited again today
    with Store.open(path) as store:
        store.append(new_page, new_arts, new_v)
        assert store.prune_artifacts(older_than=CUTOFF) == len(sni_arts)  # only the old certificate goes
        assert store.artifact(body) == new_arts[0].data
        assert all(store.artifact(a.sha256) is None for a in sni_arts)
    first_seen, last_seen, pruned_at, has_bytes = _row(path, body)
    assert first_seen == LONG_AGO and last_seen is not None and last_seen > CUTOFF
    assert pruned_at is None and has_bytes


def test_pruned_bytes_come_back_when_a_measurement_produces_them_again(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    m0, arts, v0 = blockpage(0, START)
    body = arts[0]
    with Store.open(path) as store:
        store.append(m0, arts, v0)
        assert store.prune_artifacts(older_than="9999-01-01") == 1
        assert store.artifact(body.sha256) is None
        info = store.artifact_info(body.sha256)
        assert info is not None and info[2] is not None  # pruned, and when
        m1, arts1, v1 = blockpage(1, START + timedelta(hours=1))
        store.append(m1, arts1, v1)
        assert store.artifact(body.sha256) == body.data
        assert store.artifact_info(body.sha256) == ("http_body", len(body.data), None)
        assert store.prune_artifacts(older_than=CUTOFF) == 0  # just stored again: not old


def test_verify_passes_after_prune_and_after_storing_the_bytes_again(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k").public_key()
    signer = load_signer(tmp_path / "k")
    path = tmp_path / "s.sqlite"
    samples = sample_set(2)
    with Store.open(path) as store:
        for m, a, v in samples:
            store.append(m, a, v, signer=signer)
        pruned = store.prune_artifacts(older_than="9999-01-01")
    assert pruned == 9
    result = _verify(path, key)
    assert result.ok, _fails(result)
    assert result.checked["artifacts"] == 0
    assert any("9 artifact(s) were pruned by retention" in str(n) for n in result.findings if n.level == "note")

    page, page_arts, page_v = blockpage(7, START + timedelta(days=1))
    with Store.open(path) as store:
        store.append(page, page_arts, page_v, signer=signer)
    result = _verify(path, key)
    assert result.ok, _fails(result)
    assert result.checked["artifacts"] == 1  # the blockpage body, put back, hashes to its name again
    assert any("8 artifact(s) were pruned" in str(n) for n in result.findings if n.level == "note")


def _store_at_schema_2(path: Path, samples: list[Sample]) -> None:
    """A store as the probe left it before migration 0003, written the way that probe wrote it."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, migrations=MIGRATIONS[:2])
    prev = GENESIS_HASH
    for m, arts, _ in samples:
        for a in arts:
            conn.execute("INSERT OR IGNORE INTO artifacts(sha256, kind, size, data, first_seen) VALUES (?,?,?,?,?)",
                         (a.sha256, a.kind, len(a.data), a.data, LONG_AGO))
        record = canonical_json(m.model_dump(mode="json"))
        link = chain_hash(prev, sha256_hex(record))
        conn.execute(
            "INSERT INTO measurements(measurement_id, input, host, category_code, test_start_time, probe_asn,"
            " probe_cc, run_id, record, record_sha256, prev_hash, chain_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (m.measurement_id, m.input, (urlsplit(m.input).hostname or "").lower(), m.category_code,
             m.test_start_time, m.network.probe_asn, m.network.probe_cc, None, record.decode("utf-8"),
             sha256_hex(record), prev, link))
        prev = link
    columns = [r[1] for r in conn.execute("PRAGMA table_info(artifacts)")]
    assert "last_seen" not in columns
    conn.close()


def test_a_store_from_the_previous_schema_migrates_and_keeps_its_evidence(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    samples = sample_set(1)
    _store_at_schema_2(path, samples)
    with Store.open(path, create=False) as store:
        assert store.count() == len(samples)
        body = next(a for _, arts, _ in samples for a in arts if a.kind == "http_body")
        assert store.artifact(body.sha256) == body.data
    names = [r[0] for r in sqlite3.connect(path).execute("SELECT name FROM migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    assert _row(path, body.sha256)[:2] == (LONG_AGO, None)  # not backfilled: prune falls back to first_seen
    # Unsigned and no key: a warning, nothing else. (With a key, a store none of whose links it signed
    # fails: a store rewritten end to end looks the same; see test_verify_store_honesty.)
    result = _verify(path, None)
    assert not result.failures, _fails(result)

    again, again_arts, again_v = blockpage(5, START + timedelta(days=1))
    with Store.open(path) as store:
        store.append(again, again_arts, again_v)  # the same blockpage bytes, under the new schema
        distinct = len({a.sha256 for _, arts, _ in samples for a in arts})
        assert store.prune_artifacts(older_than=CUTOFF) == distinct - 1
        assert store.artifact(body.sha256) == body.data
    assert not _verify(path, None).failures


def test_a_row_an_older_probe_wrote_after_the_migration_is_still_pruned(tmp_path: Path) -> None:
    """A daemon still running the old code keeps writing artifacts without last_seen."""
    path = tmp_path / "s.sqlite"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO artifacts(sha256, kind, size, data, first_seen) VALUES ('ab', 'dns_wire', 1, x'00', ?)",
                 (LONG_AGO,))
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert store.prune_artifacts(older_than=CUTOFF) == 1


def test_migrating_twice_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Store.open(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn) == []
    conn.close()


def test_migration_0003_rewrites_no_artifact_bytes(tmp_path: Path) -> None:
    """Adding last_seen must not copy every blob into the WAL: a store near the disk's size could not open."""
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    migrate(conn, migrations=MIGRATIONS[:2])
    blob = bytes(range(256)) * 1024  # 256 KiB
    with conn:
        conn.executemany("INSERT INTO artifacts(sha256, kind, size, data, first_seen) VALUES (?,?,?,?,?)",
                         [(f"{i:064x}", "http_body", len(blob), blob[:-1] + bytes([i]), LONG_AGO) for i in range(32)])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert Path(f"{path}-wal").stat().st_size == 0
    assert migrate(conn) == [name for name, _ in MIGRATIONS[2:]]  # 0003 and any later one
    wal = Path(f"{path}-wal").stat().st_size
    conn.close()
    assert wal < 256 * 1024, f"the migration wrote {wal} bytes of WAL for 8 MiB of artifacts"
    with Store.open(path) as store:
        assert store.prune_artifacts(older_than=CUTOFF) == 32  # aged by first_seen


class _RacedConnection(sqlite3.Connection):
    """Another process (the daemon, `probe status`) migrates the same file just before this one's first write."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "BEGIN IMMEDIATE" and not getattr(self, "raced", False):
            self.raced = True
            other = sqlite3.connect(self.path, isolation_level=None)  # type: ignore[attr-defined]
            self.applied_by_other = migrate(other)
            other.close()
        return super().execute(sql, *args)


def test_a_migration_another_process_applied_meanwhile_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _store_at_schema_2(path, sample_set(1))
    conn = sqlite3.connect(path, isolation_level=None, factory=_RacedConnection)
    conn.path = path  # type: ignore[attr-defined]
    # It read the applied names before the other process ran, so it sees 0003 as still to do; inside
    # its transaction the re-check finds it done and moves on (running it again: duplicate column).
    assert migrate(conn) == []
    assert conn.applied_by_other == [name for name, _ in MIGRATIONS[2:]]  # type: ignore[attr-defined]
    assert conn.execute("SELECT name FROM migrations ORDER BY name").fetchall() == [(n,) for n, _ in MIGRATIONS]
    assert not conn.in_transaction  # the re-check's transaction was committed, not left open
    conn.close()
    with Store.open(path, create=False) as store:
        assert store.count() == len(sample_set(1))
