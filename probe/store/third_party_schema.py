"""Migration 0005: the table of third-party measurements (OONI's, imported with `probe import ooni`).

Kept apart from `measurements`: these rows are not ours, not in our hash chain and never signed by
our key. Each keeps the measurement exactly as its source published it (`raw`, zlib-compressed
canonical JSON, with its SHA-256), our mapping of it to our observations (`record`), our verdict on
it, and the source's own verdict (OONI's `blocking`/`accessible`). `dedup_key` makes importing the
same measurement twice a no-op. Rows are never deleted.
"""

from __future__ import annotations

MIGRATION: tuple[str, str] = (
    "0005_third_party_measurements",
    """
    CREATE TABLE third_party_measurements (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,                -- 'ooni'
        dedup_key TEXT NOT NULL UNIQUE,      -- 'ooni:' + measurement_uid, else the raw record's SHA-256
        measurement_uid TEXT,
        report_id TEXT,
        test_name TEXT NOT NULL,
        test_version TEXT NOT NULL,
        input TEXT NOT NULL,
        host TEXT NOT NULL,
        test_start_time TEXT NOT NULL,       -- UTC ISO-8601, from measurement_start_time
        probe_cc TEXT NOT NULL,
        probe_asn TEXT NOT NULL,
        probe_network_name TEXT NOT NULL,
        software TEXT NOT NULL,              -- e.g. 'ooniprobe-android 3.7.3'
        link TEXT,                           -- OONI Explorer
        source_blocking TEXT NOT NULL,       -- JSON: OONI's test_keys.blocking
        source_accessible TEXT NOT NULL,     -- JSON: OONI's test_keys.accessible
        label TEXT NOT NULL,                 -- our verdict on their observations
        blocked INTEGER NOT NULL,
        verdict TEXT NOT NULL,               -- JSON of our Verdict
        record TEXT NOT NULL,                -- canonical JSON of the Measurement we mapped it to
        raw BLOB NOT NULL,                   -- zlib(canonical JSON of the measurement as published)
        raw_sha256 TEXT NOT NULL,
        imported_from TEXT NOT NULL,         -- folder/file it was read from (never the full path)
        imported_at TEXT NOT NULL
    );
    CREATE INDEX third_party_time ON third_party_measurements(test_start_time);
    CREATE INDEX third_party_host ON third_party_measurements(host);
    CREATE TRIGGER third_party_no_delete BEFORE DELETE ON third_party_measurements
        BEGIN SELECT RAISE(ABORT, 'third-party measurements are kept'); END;
    """,
)
