"""The hub's PostgreSQL schema as numbered migrations, each applied once in its own transaction.

As the probe's SQLite store does (probe.store.schema): append a new (name, sql) pair, never edit one
that has shipped; applied names are recorded in `hub_migrations`. An advisory lock makes two hubs
starting at once apply each migration exactly once. Nothing here reads or writes evidence.

No table has a column for an uploader's address: where a volunteer connects from is what a censor
would want, so the hub never learns to keep it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

MIGRATION_LOCK = 0x70726F62  # pg_advisory_xact_lock key: "prob"

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_probes_links",
        """
        CREATE TABLE probes (
            key_fingerprint TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            public_key_pem TEXT NOT NULL,
            enrolled_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            revoked_at TIMESTAMPTZ,            -- uploads refused from then on; earlier links stay
            last_upload_at TIMESTAMPTZ
        );
        CREATE TABLE invites (
            token_sha256 TEXT PRIMARY KEY,     -- the token itself is never stored
            name TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            used_at TIMESTAMPTZ,
            used_by TEXT REFERENCES probes(key_fingerprint)
        );
        CREATE TABLE links (
            id BIGSERIAL PRIMARY KEY,
            key_fingerprint TEXT NOT NULL REFERENCES probes(key_fingerprint),
            seq BIGINT NOT NULL,
            kind TEXT NOT NULL,
            record TEXT NOT NULL,              -- canonical JSON, exactly as the probe hashed it
            record_sha256 TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            chain_hash TEXT NOT NULL,
            signature TEXT NOT NULL,
            label TEXT,                        -- the probe's own verdict label, unsigned
            measurement_id TEXT,
            input TEXT,
            host TEXT,
            probe_asn TEXT,
            probe_cc TEXT,
            test_start_time TEXT,
            received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            UNIQUE (key_fingerprint, chain_hash),
            UNIQUE (key_fingerprint, prev_hash)   -- two links after one predecessor: a fork, refused
        );
        CREATE INDEX links_host_time ON links(host, test_start_time);
        CREATE INDEX links_time ON links(test_start_time);
        CREATE INDEX links_measurement ON links(measurement_id);
        CREATE TABLE chain_events (
            id BIGSERIAL PRIMARY KEY,
            key_fingerprint TEXT NOT NULL,
            kind TEXT NOT NULL,                -- gap | fork | clock_ahead
            seq BIGINT,
            chain_hash TEXT,
            missing_hash TEXT,                 -- for a gap: the predecessor not seen yet
            detail TEXT NOT NULL,
            at TIMESTAMPTZ NOT NULL DEFAULT now(),
            resolved_at TIMESTAMPTZ            -- a gap whose missing link arrived later
        );
        CREATE INDEX chain_events_key ON chain_events(key_fingerprint, kind);
        CREATE TABLE latest (
            host TEXT NOT NULL,
            probe_asn TEXT NOT NULL,
            input TEXT NOT NULL,
            test_start_time TEXT NOT NULL,
            label TEXT,
            label_signed BOOLEAN NOT NULL DEFAULT false,
            measurement_id TEXT NOT NULL,
            key_fingerprint TEXT NOT NULL,
            PRIMARY KEY (host, probe_asn)
        );
        """,
    ),
    (
        "0002_read_tokens",
        """
        CREATE TABLE read_tokens (            -- advocates' bearer tokens for bundles (GET /api/v1/bundle)
            token_sha256 TEXT PRIMARY KEY,     -- the token itself is never stored
            token_id TEXT NOT NULL UNIQUE,     -- a short public handle: what `probe hub revoke` names
            name TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            revoked_at TIMESTAMPTZ,
            last_used_at TIMESTAMPTZ
        );
        """,
    ),
]


def migrate(conn: psycopg.Connection[Any], *,
            migrations: Sequence[tuple[str, str]] = MIGRATIONS) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied now."""
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS hub_migrations "
                      "(name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
    for name, sql in migrations:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            if conn.execute("SELECT 1 FROM hub_migrations WHERE name=%s", (name,)).fetchone():
                continue
            conn.execute(sql.encode("utf-8"))  # several statements: sent as one simple query
            conn.execute("INSERT INTO hub_migrations(name) VALUES (%s)", (name,))
            applied.append(name)
    return applied
