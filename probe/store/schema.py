"""The store's SQLite schema as named migrations, each applied once in its own transaction.

Adding a migration: append a new (name, sql) pair; never edit one that has shipped. A store made by
an older version is brought up to date when it is opened; this module does not downgrade.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from probe.store.third_party_schema import MIGRATION as THIRD_PARTY_MIGRATION

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_measurements_chain",
        """
        CREATE TABLE measurements (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            measurement_id TEXT NOT NULL UNIQUE,
            input TEXT NOT NULL,
            host TEXT NOT NULL,
            category_code TEXT,
            test_start_time TEXT NOT NULL,
            probe_asn TEXT NOT NULL,
            probe_cc TEXT NOT NULL,
            run_id TEXT,
            record TEXT NOT NULL,           -- canonical JSON of the Measurement (the evidence)
            record_sha256 TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            chain_hash TEXT NOT NULL UNIQUE,
            signature TEXT,                 -- Ed25519 over chain_hash (hex), if a key was given
            key_fingerprint TEXT
        );
        CREATE INDEX measurements_input ON measurements(input);
        CREATE INDEX measurements_host ON measurements(host);
        CREATE INDEX measurements_time ON measurements(test_start_time);
        CREATE TRIGGER measurements_append_only_update BEFORE UPDATE ON measurements
            BEGIN SELECT RAISE(ABORT, 'measurements are append-only'); END;
        CREATE TRIGGER measurements_append_only_delete BEFORE DELETE ON measurements
            BEGIN SELECT RAISE(ABORT, 'measurements are append-only'); END;
        CREATE TABLE artifacts (
            sha256 TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            size INTEGER NOT NULL,
            data BLOB,                      -- NULL once pruned by retention
            first_seen TEXT NOT NULL,
            pruned_at TEXT
        );
        CREATE TABLE verdicts (
            measurement_id TEXT PRIMARY KEY REFERENCES measurements(measurement_id),
            label TEXT NOT NULL,
            blocked INTEGER NOT NULL,
            verdict TEXT NOT NULL,          -- JSON of the Verdict
            rules_version TEXT NOT NULL,
            classified_at TEXT NOT NULL
        );
        CREATE INDEX verdicts_label ON verdicts(label);
        CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            list_name TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,           -- running | finished | interrupted
            counts TEXT NOT NULL DEFAULT '{}'
        );
        """,
    ),
    (
        "0002_measurements_run_index",
        """
        CREATE INDEX measurements_run ON measurements(run_id);
        """,
    ),
    (
        # Retention prunes by when an artifact was last cited, not first: bytes a recent measurement
        # also produced (the same certificate chain, the same blockpage) are that measurement's evidence.
        # No backfill: rows from before stay NULL and prune reads coalesce(last_seen, first_seen). An
        # UPDATE of every row would rewrite every blob in one transaction (a WAL as large as the store,
        # on first open, on a Pi with little disk); ADD COLUMN rewrites nothing.
        "0003_artifacts_last_seen",
        """
        ALTER TABLE artifacts ADD COLUMN last_seen TEXT;  -- when a measurement last stored these bytes
        """,
    ),
    (
        # Verdicts, key introductions and closed runs become links of the chain (probe/models/chain.py):
        # hashed and signed like measurements, sharing their seqs (a new link takes the highest seq of
        # either table + 1). The verdicts table stays as the index `results` and filters read; link_seq
        # names the verdict link each row copies, NULL for rows made before this migration (unsigned).
        "0004_chain_records",
        """
        CREATE TABLE chain_records (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,             -- verdict | key | run
            subject TEXT,                   -- the measurement_id, run_id or key fingerprint it is about
            record TEXT NOT NULL,           -- canonical JSON of the record (the evidence)
            record_sha256 TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            chain_hash TEXT NOT NULL UNIQUE,
            signature TEXT,
            key_fingerprint TEXT
        );
        CREATE INDEX chain_records_subject ON chain_records(kind, subject, seq);
        CREATE TRIGGER chain_records_append_only_update BEFORE UPDATE ON chain_records
            BEGIN SELECT RAISE(ABORT, 'chain records are append-only'); END;
        CREATE TRIGGER chain_records_append_only_delete BEFORE DELETE ON chain_records
            BEGIN SELECT RAISE(ABORT, 'chain records are append-only'); END;
        ALTER TABLE verdicts ADD COLUMN link_seq INTEGER;  -- the verdict link this row copies
        """,
    ),
]
MIGRATIONS.append(THIRD_PARTY_MIGRATION)  # 0005, kept in its own module (probe/store/third_party_schema.py)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def migrate(conn: sqlite3.Connection, *, migrations: Sequence[tuple[str, str]] = MIGRATIONS) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied now.

    `migrations` is a seam for tests that need a store as an older version left it.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    applied = []
    for name, sql in migrations:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM migrations WHERE name=?", (name,)).fetchone():
                conn.execute("COMMIT")  # another process (the daemon, `probe status`) applied it meanwhile
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO migrations(name, applied_at) VALUES (?, ?)", (name, _now()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies (BEGIN … END;) whole."""
    out, buf = [], ""
    for line in sql.splitlines():
        code = line.split("--", 1)[0]
        buf += code + "\n"
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
