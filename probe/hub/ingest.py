"""Storing a checked batch: idempotent per link, chained per probe, forks refused, gaps recorded.

One transaction per batch, serialised per probe by an advisory lock, so a retry racing its original
cannot store a link twice. A link the hub already has is counted as a duplicate (a replayed batch
stores nothing new). A link after a predecessor the hub has not seen is stored and a gap recorded
(resolved when the missing link arrives). Two links after one predecessor is a fork: the batch is
refused and the fork logged as tampering. Signature and schema checks happen before (probe.hub.verify).

Speed (benchmarks/hub.py, docs/scaling.md): almost every batch is the next stretch of its probe's
chain, so the links are first COPYed optimistically, inside a savepoint; the table's two unique
constraints per probe (chain_hash, prev_hash) refuse exactly the rows that are already there or that
fork, and then — a replay, a retry, a fork, rare — the savepoint is rolled back and the batch is
sorted out against the stored links as before. A batch that goes in whole then needs one look-up:
whether the predecessors it does not carry itself (usually one) are stored. Hash lists travel as one
comma-joined text each (hex has no commas), and the `latest` rows as one JSON document in a single
statement, rather than as a parameter per hash or a statement per row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg

from probe.hub.verify import BatchRejected, CheckedLink
from probe.hub.wire import UploadResult
from probe.models.canonical import GENESIS_HASH

_COPY = ("COPY links (key_fingerprint, seq, kind, record, record_sha256, prev_hash, chain_hash, signature, label, "
         "measurement_id, input, host, probe_asn, probe_cc, test_start_time) FROM STDIN")
# The newest measurement per (host, probe_asn) of a batch, as one JSON array of rows, in one statement.
_LATEST = ("INSERT INTO latest AS l (host, probe_asn, input, test_start_time, label, label_signed, measurement_id,"
           " key_fingerprint) SELECT r->>0, r->>1, r->>2, r->>3, r->>4, false, r->>5, %s"
           " FROM jsonb_array_elements(%s::jsonb) AS r ON CONFLICT (host, probe_asn) DO UPDATE"
           " SET input = excluded.input, test_start_time = excluded.test_start_time, label = excluded.label,"
           " label_signed = false, measurement_id = excluded.measurement_id,"
           " key_fingerprint = excluded.key_fingerprint WHERE l.test_start_time < excluded.test_start_time")
_SIGNED = ("UPDATE latest SET label = r->>0, label_signed = true FROM jsonb_array_elements(%s::jsonb) AS r"
           " WHERE measurement_id = r->>1")


class ForkRefused(BatchRejected):
    def __init__(self, message: str, *, seq: int, chain_hash: str) -> None:
        super().__init__(message, status=409)
        self.seq, self.chain_hash = seq, chain_hash


async def store_batch(conn: psycopg.AsyncConnection[Any], *, key_fingerprint: str,
                      checked: Sequence[CheckedLink]) -> UploadResult:
    """Store what is new in `checked` (all signed by `key_fingerprint`); ForkRefused stores nothing."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key_fingerprint,))
        new = await _copy_if_all_new(conn, key_fingerprint, checked)
        if new is None:  # something in the batch is stored already, or forks: sort it out link by link
            new, known = await _sort_out(conn, key_fingerprint, checked)
            if new:
                await _copy_links(conn, key_fingerprint, new)
        else:
            known = await _stored(conn, key_fingerprint, _outside_prevs(new))
        batch_chains = {c.link.chain_hash for c in new}
        gaps = [c for c in new if c.link.prev_hash != GENESIS_HASH and c.link.prev_hash not in known
                and c.link.prev_hash not in batch_chains]
        if new:
            await _record_events(conn, key_fingerprint, new, gaps)
            await _update_latest(conn, key_fingerprint, new)
        await conn.execute("UPDATE probes SET last_upload_at = now() WHERE key_fingerprint = %s", (key_fingerprint,))
    return UploadResult(accepted=len(new), duplicates=len(checked) - len(new), gaps=len(gaps),
                        clock_ahead=sum(c.clock_ahead for c in new))


async def _copy_if_all_new(conn: psycopg.AsyncConnection[Any], key_fingerprint: str,
                           checked: Sequence[CheckedLink]) -> list[CheckedLink] | None:
    """COPY the whole batch in a savepoint; None (and nothing stored) when a unique constraint refuses a row."""
    try:
        async with conn.transaction():
            await _copy_links(conn, key_fingerprint, checked)
    except psycopg.errors.UniqueViolation:
        return None
    return list(checked)


async def _sort_out(conn: psycopg.AsyncConnection[Any], key_fingerprint: str,
                    checked: Sequence[CheckedLink]) -> tuple[list[CheckedLink], set[str]]:
    """The links not stored yet (ForkRefused if one forks) and the batch's hashes the hub already has."""
    chains = [c.link.chain_hash for c in checked]
    prevs = [c.link.prev_hash for c in checked]
    cur = await conn.execute(
        "SELECT chain_hash, prev_hash FROM links WHERE key_fingerprint = %s "
        "AND (chain_hash = ANY(string_to_array(%s, ',')) OR prev_hash = ANY(string_to_array(%s, ',')))",
        (key_fingerprint, ",".join(chains + prevs), ",".join(prevs)))
    rows = await cur.fetchall()
    known = {str(r[0]) for r in rows}
    after = {str(r[1]): str(r[0]) for r in rows}  # predecessor → its stored successor
    return _new_links(checked, known=known, after=after), known


def _outside_prevs(new: Sequence[CheckedLink]) -> list[str]:
    """Predecessors of the batch's links that the batch does not carry (usually the first link's)."""
    chains = {c.link.chain_hash for c in new}
    return [c.link.prev_hash for c in new if c.link.prev_hash != GENESIS_HASH and c.link.prev_hash not in chains]


async def _stored(conn: psycopg.AsyncConnection[Any], key_fingerprint: str, hashes: list[str]) -> set[str]:
    if not hashes:
        return set()
    cur = await conn.execute("SELECT chain_hash FROM links WHERE key_fingerprint = %s "
                             "AND chain_hash = ANY(string_to_array(%s, ','))", (key_fingerprint, ",".join(hashes)))
    return {str(r[0]) for r in await cur.fetchall()}


def _new_links(checked: Sequence[CheckedLink], *, known: set[str], after: dict[str, str]) -> list[CheckedLink]:
    new: list[CheckedLink] = []
    seen_chain: set[str] = set()
    seen_prev: dict[str, str] = {}
    for c in checked:
        link = c.link
        if link.chain_hash in known or link.chain_hash in seen_chain:
            continue  # already stored (a retry, a replay) or twice in this batch: one row
        other = after.get(link.prev_hash) or seen_prev.get(link.prev_hash)
        if other is not None and other != link.chain_hash:
            raise ForkRefused(f"link {link.seq} forks the chain: the hub already has another link ({other[:16]}…) "
                              f"after {link.prev_hash[:16]}…", seq=link.seq, chain_hash=link.chain_hash)
        seen_chain.add(link.chain_hash)
        seen_prev[link.prev_hash] = link.chain_hash
        new.append(c)
    return new


async def _copy_links(conn: psycopg.AsyncConnection[Any], key_fingerprint: str,
                      new: Sequence[CheckedLink]) -> None:
    async with conn.cursor() as cur, cur.copy(_COPY) as copy:
        for c in new:
            link = c.link
            await copy.write_row((key_fingerprint, link.seq, link.kind, link.record, link.record_sha256,
                                  link.prev_hash, link.chain_hash, link.signature, link.label, c.measurement_id,
                                  c.input, c.host, c.probe_asn, c.probe_cc, c.test_start_time))


async def _record_events(conn: psycopg.AsyncConnection[Any], key_fingerprint: str, new: list[CheckedLink],
                         gaps: list[CheckedLink]) -> None:
    async with conn.cursor() as cur:
        # Open gaps are few (usually none): read them and close the ones this batch fills, rather than
        # sending every hash of the batch to be matched.
        await cur.execute("SELECT missing_hash FROM chain_events WHERE key_fingerprint = %s AND kind = 'gap' "
                          "AND resolved_at IS NULL", (key_fingerprint,))
        open_gaps = {str(r[0]) for r in await cur.fetchall()}
        filled = [c.link.chain_hash for c in new if c.link.chain_hash in open_gaps]
        if filled:
            await cur.execute(
                "UPDATE chain_events SET resolved_at = now() WHERE key_fingerprint = %s AND kind = 'gap' "
                "AND resolved_at IS NULL AND missing_hash = ANY(string_to_array(%s, ','))",
                (key_fingerprint, ",".join(filled)))
        events: list[tuple[str, str, int, str, str | None, str]] = [
            (key_fingerprint, "gap", c.link.seq, c.link.chain_hash, c.link.prev_hash,
             f"link {c.link.seq} follows a link the hub has not received") for c in gaps]
        ahead = [c for c in new if c.clock_ahead]
        if ahead:
            events.append((key_fingerprint, "clock_ahead", ahead[0].link.seq, ahead[0].link.chain_hash, None,
                           f"{len(ahead)} record(s) dated after the hub's clock, first {ahead[0].test_start_time}: "
                           "the probe's clock is ahead"))
        if events:
            await cur.executemany("INSERT INTO chain_events(key_fingerprint, kind, seq, chain_hash, missing_hash,"
                                  " detail) VALUES (%s, %s, %s, %s, %s, %s)", events)


async def _update_latest(conn: psycopg.AsyncConnection[Any], key_fingerprint: str, new: list[CheckedLink]) -> None:
    newest: dict[tuple[str, str], CheckedLink] = {}
    for c in new:
        if c.host and c.probe_asn and c.test_start_time and c.input and c.measurement_id:
            key = (c.host, c.probe_asn)
            if key not in newest or (newest[key].test_start_time or "") < c.test_start_time:
                newest[key] = c
    # Sorted: concurrent batches of different probes lock `latest` rows in one order, never deadlock.
    # One row per (host, probe_asn): a single INSERT … ON CONFLICT never meets its own row twice.
    rows = [[c.host, c.probe_asn, c.input, c.test_start_time, c.link.label, c.measurement_id]
            for _, c in sorted(newest.items())]
    # The last signed label per measurement wins, as it would one UPDATE after another.
    labels = {c.measurement_id: c.verdict_label for c in new if c.verdict_label and c.measurement_id}
    signed = [[label, mid] for mid, label in labels.items()]
    async with conn.cursor() as cur:
        if rows:
            await cur.execute(_LATEST, (key_fingerprint, json.dumps(rows)))
        if signed:
            await cur.execute(_SIGNED, (json.dumps(signed),))


async def record_fork(conn: psycopg.AsyncConnection[Any], *, key_fingerprint: str, fork: ForkRefused) -> None:
    """Log a refused fork as tampering, in its own transaction (the batch's was rolled back)."""
    async with conn.transaction():
        await conn.execute("INSERT INTO chain_events(key_fingerprint, kind, seq, chain_hash, detail) "
                           "VALUES (%s, 'fork', %s, %s, %s)",
                           (key_fingerprint, fork.seq, fork.chain_hash, "refused as tampering: " + fork.message))
