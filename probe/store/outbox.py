"""The upload outbox: which hubs this probe joined and how far each has acknowledged its chain.

The chain is append-only, so the outbox is a cursor per hub rather than a copy of every row: links
after `acked_seq` that the probe's key signed are pending. The cursor moves only after the hub
answered that it stored a batch, so an upload is at-least-once; the hub keeps one row per link, so
sending a link twice is harmless. A probe offline for weeks simply has a longer backlog. This module
reads and records; sending is probe.hub.upload's job. Its table is store migration 0006.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from probe.store.store import Store

OUTBOX_MIGRATION = (
    "0006_outbox",
    """
    CREATE TABLE outbox (
        hub_url TEXT PRIMARY KEY,
        hub_name TEXT NOT NULL,             -- the name the hub's invite gave this probe
        key_fingerprint TEXT NOT NULL,      -- the key enrolled there: only its links are sent
        joined_at TEXT NOT NULL,
        acked_seq INTEGER NOT NULL DEFAULT 0,   -- every link up to here is stored on the hub
        last_attempt_at TEXT,
        last_success_at TEXT,
        last_error TEXT,
        failures INTEGER NOT NULL DEFAULT 0     -- attempts failed in a row (backoff)
    );
    """,
)


@dataclass(frozen=True)
class HubTarget:
    hub_url: str
    hub_name: str
    key_fingerprint: str
    acked_seq: int
    last_attempt_at: str | None
    last_success_at: str | None
    last_error: str | None
    failures: int


@dataclass(frozen=True)
class PendingLink:
    seq: int
    kind: str
    record: str
    record_sha256: str
    prev_hash: str
    chain_hash: str
    signature: str
    key_fingerprint: str
    label: str | None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def add_hub(store: Store, *, hub_url: str, hub_name: str, key_fingerprint: str) -> None:
    """Remember a hub this probe joined; joining again keeps how far it got."""
    with store.connection:
        store.connection.execute(
            "INSERT INTO outbox(hub_url, hub_name, key_fingerprint, joined_at) VALUES (?,?,?,?) "
            "ON CONFLICT(hub_url) DO UPDATE SET hub_name=excluded.hub_name, key_fingerprint=excluded.key_fingerprint",
            (hub_url, hub_name, key_fingerprint, _now()))


def hubs(store: Store) -> list[HubTarget]:
    rows = store.connection.execute(
        "SELECT hub_url, hub_name, key_fingerprint, acked_seq, last_attempt_at, last_success_at, last_error, "
        "failures FROM outbox ORDER BY joined_at").fetchall()
    return [HubTarget(str(r[0]), str(r[1]), str(r[2]), int(r[3]), r[4], r[5], r[6], int(r[7])) for r in rows]


def backlog(store: Store, target: HubTarget) -> int:
    """Links this hub has not acknowledged yet (measurements and the other kinds: verdict, key, run)."""
    row = store.connection.execute(
        "SELECT (SELECT count(*) FROM measurements WHERE seq > ?1 AND key_fingerprint = ?2 AND signature IS NOT NULL)"
        " + (SELECT count(*) FROM chain_records WHERE seq > ?1 AND key_fingerprint = ?2 AND signature IS NOT NULL)",
        (target.acked_seq, target.key_fingerprint)).fetchone()
    return int(row[0])


# Both link tables share one sequence and one chain (probe.store.links): the hub gets them merged in
# seq order, or every measurement after a verdict link would look like a gap there.
_PENDING = (
    "SELECT m.seq, 'measurement', m.record, m.record_sha256, m.prev_hash, m.chain_hash, m.signature, "
    "m.key_fingerprint, v.label FROM measurements m LEFT JOIN verdicts v USING(measurement_id) "
    "WHERE m.seq > ?1 AND m.key_fingerprint = ?2 AND m.signature IS NOT NULL "
    "UNION ALL SELECT seq, kind, record, record_sha256, prev_hash, chain_hash, signature, key_fingerprint, NULL "
    "FROM chain_records WHERE seq > ?1 AND key_fingerprint = ?2 AND signature IS NOT NULL ORDER BY 1 LIMIT ?3")


def pending(store: Store, target: HubTarget, *, after_seq: int, limit: int) -> list[PendingLink]:
    """Up to `limit` signed links after `after_seq`, oldest first; a measurement with the probe's label."""
    rows = store.connection.execute(_PENDING, (after_seq, target.key_fingerprint, limit)).fetchall()
    return [PendingLink(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]), str(r[7]),
                        r[8]) for r in rows]


def iter_pending(store: Store, target: HubTarget, *, batch: int) -> Iterator[list[PendingLink]]:
    after = target.acked_seq
    while links := pending(store, target, after_seq=after, limit=batch):
        yield links
        after = links[-1].seq


def record_success(store: Store, *, hub_url: str, acked_seq: int) -> None:
    now = _now()
    with store.connection:
        store.connection.execute(
            "UPDATE outbox SET acked_seq=max(acked_seq, ?), last_attempt_at=?, last_success_at=?, last_error=NULL, "
            "failures=0 WHERE hub_url=?", (acked_seq, now, now, hub_url))


def record_failure(store: Store, *, hub_url: str, error: str) -> None:
    with store.connection:
        store.connection.execute("UPDATE outbox SET last_attempt_at=?, last_error=?, failures=failures+1 "
                                 "WHERE hub_url=?", (_now(), error[:500], hub_url))


def upload_status(store: Store) -> list[dict[str, object]]:
    """Per hub: its URL and name, the backlog, the last success and the last error (for `probe status`)."""
    return [{"hub_url": t.hub_url, "hub_name": t.hub_name, "backlog": backlog(store, t),
             "last_success_at": t.last_success_at, "last_error": t.last_error, "failures": t.failures}
            for t in hubs(store)]
