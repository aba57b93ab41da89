"""The chain across the store's two link tables: the head, sealing a new link, reading links in order.

Measurements live in `measurements`, every other kind of link (verdict, key, run; see
`probe.models.chain`) in `chain_records`; both share one sequence of seqs and one chain of hashes.
Callers hold a write transaction (BEGIN IMMEDIATE) while sealing, so two writers never fork it.

Signing rules enforced here, so that "rows made after the probe's key existed are signed" holds for
every writer: the first link a key signs in a store is a key record (how many unsigned links came
before it); once the newest link is signed, an unsigned link is refused.
This module does not open the store, classify or verify.
"""

from __future__ import annotations

import contextlib
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from probe.errors import StoreError
from probe.models.canonical import GENESIS_HASH, chain_hash, sha256_hex
from probe.models.chain import KeyRecord, Link, record_bytes

# A signer takes the chain hash (hex) and returns (signature hex, key fingerprint).
Signer = Callable[[str], tuple[str, str]]

_FIELDS = "seq, record, record_sha256, prev_hash, chain_hash, signature, key_fingerprint"
# A compound ORDER BY: SQLite merges the two tables' rowid order, so nothing is sorted or held in memory.
_ALL_LINKS = (f"SELECT 'measurement', measurement_id, {_FIELDS} FROM measurements WHERE seq > ? "
              f"UNION ALL SELECT kind, subject, {_FIELDS} FROM chain_records WHERE seq > ? ORDER BY 3")
_fingerprints: weakref.WeakKeyDictionary[Signer, str] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Head:
    seq: int
    chain_hash: str
    signature: str | None
    key_fingerprint: str | None


@dataclass(frozen=True)
class Sealed:
    seq: int
    record_sha256: str
    prev_hash: str
    chain_hash: str
    signature: str | None
    key_fingerprint: str | None

    def as_head(self) -> Head:
        """This link as the chain's head once it is inserted."""
        return Head(self.seq, self.chain_hash, self.signature, self.key_fingerprint)


def head(conn: sqlite3.Connection) -> Head:
    row = conn.execute(
        "SELECT * FROM (SELECT seq, chain_hash, signature, key_fingerprint FROM measurements ORDER BY seq DESC "
        "LIMIT 1) UNION ALL SELECT * FROM (SELECT seq, chain_hash, signature, key_fingerprint FROM chain_records "
        "ORDER BY seq DESC LIMIT 1) ORDER BY 1 DESC LIMIT 1").fetchone()
    if row is None:
        return Head(0, GENESIS_HASH, None, None)
    return Head(int(row[0]), str(row[1]), row[2], row[3])


def prepare_signing(conn: sqlite3.Connection, signer: Signer | None, now: str) -> Head:
    """Before a new link: refuse an unsigned one after signed links, and introduce a new key.

    Returns the head the new link follows (the key record, when one was added), for `seal`'s `top`."""
    top = head(conn)
    if signer is None:
        if top.signature:
            raise StoreError(f"this store's links are signed by {top.key_fingerprint}: refusing to add an "
                             "unsigned one (it would look like a rewritten chain)",
                             hint="give the probe's key (--key, PROBE_KEY, or the config's `key =`)")
        return top
    fp = signer_fingerprint(signer)
    if top.signature and top.key_fingerprint == fp:
        return top
    unsigned = sum(int(conn.execute(f"SELECT count(*) FROM {table} WHERE signature IS NULL").fetchone()[0])
                   for table in ("measurements", "chain_records"))
    record = KeyRecord(key_fingerprint=fp, introduced_at=now, unsigned_links_before=unsigned)
    return insert_record(conn, "key", fp, record_bytes(record), signer).as_head()


def signer_fingerprint(signer: Signer) -> str:
    """The fingerprint of the key behind a signer (it signs once to say; remembered per signer)."""
    try:
        return _fingerprints[signer]
    except (KeyError, TypeError):
        pass
    fp = signer(GENESIS_HASH)[1]
    with contextlib.suppress(TypeError):  # a signer that cannot be weakly referenced: ask each time
        _fingerprints[signer] = fp
    return fp


def seal(conn: sqlite3.Connection, record: bytes, signer: Signer | None, *, top: Head | None = None) -> Sealed:
    """The next link for `record` (seq, hashes, signature); the caller inserts it in the same transaction.

    `top`: the head, when the caller knows it within this transaction (it just sealed or read it),
    saving the query (three per stored measurement otherwise)."""
    if top is None:
        top = head(conn)
    rec_sha = sha256_hex(record)
    link = chain_hash(top.chain_hash, rec_sha)
    signature, fp = signer(link) if signer else (None, None)
    return Sealed(top.seq + 1, rec_sha, top.chain_hash, link, signature, fp)


def insert_record(conn: sqlite3.Connection, kind: str, subject: str | None, record: bytes,
                  signer: Signer | None, *, top: Head | None = None) -> Sealed:
    """Append a verdict, key or run record as the new head (after `top`, when the caller knows it)."""
    sealed = seal(conn, record, signer, top=top)
    conn.execute("INSERT INTO chain_records(seq, kind, subject, record, record_sha256, prev_hash, chain_hash, "
                 "signature, key_fingerprint) VALUES (?,?,?,?,?,?,?,?,?)",
                 (sealed.seq, kind, subject, record.decode("utf-8"), sealed.record_sha256, sealed.prev_hash,
                  sealed.chain_hash, sealed.signature, sealed.key_fingerprint))
    return sealed


def all_links(conn: sqlite3.Connection, *, after_seq: int = 0) -> Iterator[Link]:
    """Every link of the chain in seq order, streamed (what `verify --store` checks and the hub ingests)."""
    cursor = conn.cursor()
    cursor.execute(_ALL_LINKS, (after_seq, after_seq))
    while rows := cursor.fetchmany(256):
        for row in rows:
            yield _link(row)


def record_links(conn: sqlite3.Connection, kind: str, subject: str) -> list[Link]:
    """The verdict (or run) links about one measurement (or run), oldest first."""
    rows = conn.execute(f"SELECT kind, subject, {_FIELDS} FROM chain_records WHERE kind=? AND subject=? "
                        "ORDER BY seq", (kind, subject)).fetchall()
    return [_link(row) for row in rows]


def links_of_kind(conn: sqlite3.Connection, kind: str) -> list[Link]:
    rows = conn.execute(f"SELECT kind, subject, {_FIELDS} FROM chain_records WHERE kind=? ORDER BY seq",
                        (kind,)).fetchall()
    return [_link(row) for row in rows]


def sequence_high(conn: sqlite3.Connection) -> int:
    """The highest seq SQLite ever handed out (its AUTOINCREMENT counter), 0 if none.

    Deleting rows does not lower it, so a head below it means the newest links were deleted; whoever
    deletes them can lower it too, which is why a copy elsewhere (a bundle, the hub) is the real proof.
    """
    row = conn.execute("SELECT max(seq) FROM sqlite_sequence WHERE name IN ('measurements', 'chain_records')"
                       ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _link(row: tuple[object, ...]) -> Link:
    kind, subject, seq, record, rec_sha, prev, link, sig, fp = row
    return Link(kind=str(kind), seq=int(str(seq)), record=str(record), record_sha256=str(rec_sha),
                prev_hash=str(prev), chain_hash=str(link), signature=None if sig is None else str(sig),
                key_fingerprint=None if fp is None else str(fp), subject=None if subject is None else str(subject))
