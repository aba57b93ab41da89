"""The local evidence store: one SQLite file (WAL), append-only measurements in a hash chain.

Every measurement is committed as it completes, so a killed process loses at most what was in flight,
and the chain still verifies; a run may batch appends into transactions at most a fraction of a second
old (store/writes.py), and a kill then also loses that last batch. Artifacts are content-addressed
blobs in the same file; each knows when a measurement last stored it, so retention drops only bytes
no recent measurement produced, and bytes a new measurement produces again are stored again even
after they were pruned.
This module stores and reads; it does not measure, classify, sign (a signer is injected) or export.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from probe.errors import StoreError
from probe.i18n import _
from probe.models import Artifact, Measurement, Verdict
from probe.models.canonical import canonical_json
from probe.models.chain import Link, RunRecord, VerdictRecord, record_bytes
from probe.models.verdict import is_blocked_label
from probe.store import links
from probe.store.links import Head
from probe.store.links import Signer as Signer  # re-exported: writers and keys.py name it from here
from probe.store.liveness import this_process
from probe.store.schema import _now, migrate
from probe.store.writes import WriteBatch, rollback, write_error

_RUN_COLUMNS = ("run_id", "list_name", "started_at", "finished_at", "status", "counts")

DEFAULT_STORE = Path("results") / "probe.sqlite"


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    measurement_id: str
    input: str
    host: str
    category_code: str | None
    test_start_time: str
    probe_asn: str
    probe_cc: str
    run_id: str | None
    record: str  # canonical JSON text, exactly as hashed
    record_sha256: str
    prev_hash: str
    chain_hash: str
    signature: str | None
    key_fingerprint: str | None
    verdict: Verdict | None

    def measurement(self) -> Measurement:
        return Measurement.model_validate_json(self.record)


@dataclass(frozen=True)
class EntryFilter:
    url: str | None = None
    host: str | None = None
    category: str | None = None
    since: str | None = None  # ISO-8601 prefix compare (UTC)
    until: str | None = None
    verdict: str | None = None  # a label, or "blocked"
    asn: str | None = None
    run_id: str | None = None
    limit: int | None = None  # only the newest `limit` matches (still yielded in chain order)


_COLUMNS = ("m.seq, m.measurement_id, m.input, m.host, m.category_code, m.test_start_time, m.probe_asn, "
            "m.probe_cc, m.run_id, m.record, m.record_sha256, m.prev_hash, m.chain_hash, m.signature, "
            "m.key_fingerprint, v.verdict")


class Store:
    """Open with `Store.open(path)`; use as a context manager or call `close()`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._batch = WriteBatch(conn, path)

    @classmethod
    def open(cls, path: Path | str = DEFAULT_STORE, *, create: bool = True) -> Store:
        path = Path(path)
        if not create and not path.exists():
            raise StoreError(_("no store at {path}").format(path=path),
                             hint=_("run `probe run` first, or pass --store PATH"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(_("cannot create the store folder {path}: {problem}").format(
                path=path.parent, problem=exc.strerror)) from exc
        if create and not os.access(path.parent, os.W_OK):
            raise StoreError(_("the store folder {path} is not writable").format(path=path.parent),
                             hint=_("choose another place with --store PATH"))
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise StoreError(_("cannot open the store {path}: {problem}").format(path=path, problem=exc),
                             hint=_("is it a probe store? is the disk full or read-only?")) from exc
        return cls(conn, path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._conn.close()

    @property
    def batch(self) -> WriteBatch:
        """The transaction appends share while a run batches them (store/writes.py)."""
        return self._batch

    def flush(self) -> None:
        """Commit the appends waiting in an open batch, if any."""
        self._batch.commit()

    @property
    def connection(self) -> sqlite3.Connection:
        """For the store's sibling modules (probe.store.outbox); others use the methods above."""
        return self._conn

    # -- writing ---------------------------------------------------------------------------------

    def append(self, measurement: Measurement, artifacts: Iterable[Artifact] = (),
               verdict: Verdict | None = None, *, run_id: str | None = None,
               signer: Signer | None = None, dumped: dict[str, object] | None = None) -> StoredEntry:
        """Commit one measurement (with its artifacts) as the new head of the chain, then its verdict.

        The verdict is a link of its own right after the measurement's (`append_verdict`), in the same
        transaction (savepoint, when batching: `batch`). With a signer, the first link a key signs here
        is a key record (store/links.py). `dumped` is `measurement.model_dump(mode="json")` when the
        caller already made it (the runner's scrub pass walks it): the record is dumped once per URL.
        """
        record = canonical_json(measurement.model_dump(mode="json") if dumped is None else dumped)
        text = record.decode("utf-8")
        host = (urlsplit(measurement.input).hostname or "").lower()
        try:
            self._batch.begin_append()
            try:
                top = links.prepare_signing(self._conn, signer, _now())
                sealed = links.seal(self._conn, record, signer, top=top)
                for artifact in artifacts:
                    self._put_artifact(artifact)
                self._conn.execute(
                    "INSERT INTO measurements(seq, measurement_id, input, host, category_code, test_start_time,"
                    " probe_asn, probe_cc, run_id, record, record_sha256, prev_hash, chain_hash, signature,"
                    " key_fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (sealed.seq, measurement.measurement_id, measurement.input, host, measurement.category_code,
                     measurement.test_start_time, measurement.network.probe_asn, measurement.network.probe_cc,
                     run_id, text, sealed.record_sha256, sealed.prev_hash, sealed.chain_hash,
                     sealed.signature, sealed.key_fingerprint))
                if verdict is not None:
                    self._chain_verdict(measurement.measurement_id, sealed.record_sha256, verdict, signer,
                                        top=sealed.as_head())
                self._batch.end_append()
            except BaseException:
                self._batch.undo_append()
                raise
        except sqlite3.Error as exc:
            raise write_error(self.path, exc) from exc
        # The row just inserted, from the values it was made of: reading it back (and parsing the
        # verdict's JSON again) cost more than a tenth of an append.
        return StoredEntry(seq=sealed.seq, measurement_id=measurement.measurement_id, input=measurement.input,
                           host=host, category_code=measurement.category_code,
                           test_start_time=measurement.test_start_time, probe_asn=measurement.network.probe_asn,
                           probe_cc=measurement.network.probe_cc, run_id=run_id, record=text,
                           record_sha256=sealed.record_sha256, prev_hash=sealed.prev_hash,
                           chain_hash=sealed.chain_hash, signature=sealed.signature,
                           key_fingerprint=sealed.key_fingerprint, verdict=verdict)

    def append_verdict(self, measurement_id: str, verdict: Verdict, *, signer: Signer | None = None) -> int:
        """Append a new verdict record for a stored measurement (reclassification); returns its seq.

        Earlier verdict records stay in the chain; the verdicts index now points at this one. The
        measurement's own record is untouched.
        """
        with self._transaction():
            row = self._conn.execute("SELECT record_sha256 FROM measurements WHERE measurement_id=?",
                                     (measurement_id,)).fetchone()
            if row is None:
                raise StoreError(f"no measurement {measurement_id} in the store {self.path}")
            top = links.prepare_signing(self._conn, signer, _now())
            return self._chain_verdict(measurement_id, str(row[0]), verdict, signer, top=top)

    def start_run(self, run_id: str, list_name: str | None) -> set[str]:
        """Start (or continue, after a crash) a run; returns the inputs it has already measured."""
        with self._transaction():
            self._conn.execute("INSERT OR IGNORE INTO runs(run_id, list_name, started_at, status) VALUES (?,?,?,?)",
                               (run_id, list_name, _now(), "running"))
            self._conn.execute("UPDATE runs SET status='running', finished_at=NULL, owner=? WHERE run_id=?",
                               (this_process(), run_id))
        rows = self._conn.execute("SELECT input FROM measurements WHERE run_id=?", (run_id,))
        return {str(r[0]) for r in rows}

    def running_owners(self) -> list[tuple[str, str | None]]:
        """(run_id, owner) of every run marked running; owner None when unknown (an older probe's row)."""
        rows = self._conn.execute("SELECT run_id, owner FROM runs WHERE status='running'")
        return [(str(r[0]), r[1]) for r in rows]

    def unfinished_runs(self) -> list[tuple[str, str | None]]:
        """(run_id, list_name) of runs that never finished (the process was killed)."""
        rows = self._conn.execute("SELECT run_id, list_name FROM runs WHERE status='running' ORDER BY started_at")
        return [(str(r[0]), r[1]) for r in rows]

    def finish_run(self, run_id: str, status: str, counts: dict[str, int] | None = None, *,
                   signer: Signer | None = None) -> None:
        """Close a run; its counts are the verdicts stored under it (all of them, across restarts).

        The closed row is also chained as a run record (signed with `signer`), so `verify --store`
        can tell an edited runs row. In a signed store without a signer the row is closed unchained
        (verify says it is not covered) rather than failing the run's bookkeeping.
        """
        if counts is None:
            rows = self._conn.execute(
                "SELECT coalesce(v.label, 'unclassified'), count(*) FROM measurements m "
                "LEFT JOIN verdicts v USING(measurement_id) WHERE m.run_id=? GROUP BY 1", (run_id,))
            counts = {str(label): int(n) for label, n in rows}
        with self._transaction():
            now = _now()
            self._conn.execute("UPDATE runs SET finished_at=?, status=?, counts=? WHERE run_id=?",
                               (now, status, json.dumps(counts, sort_keys=True), run_id))
            self._chain_run(run_id, signer)

    def prune_artifacts(self, *, older_than: str) -> int:
        """Drop the bytes of artifacts no measurement stored since `older_than` (ISO-8601).

        Hashes, kinds, sizes and every record stay, so the chain still verifies. An artifact that a
        recent measurement produced again (the same certificate, the same blockpage) is kept.
        """
        with self._transaction():
            # coalesce: rows stored before migration 0003 (never backfilled) or by an older probe have no last_seen.
            cur = self._conn.execute(
                "UPDATE artifacts SET data=NULL, pruned_at=? "
                "WHERE data IS NOT NULL AND coalesce(last_seen, first_seen) < ?",
                (_now(), older_than))
            return cur.rowcount

    # -- reading ---------------------------------------------------------------------------------

    def get(self, measurement_id: str) -> StoredEntry | None:
        """One entry by full id or by a unique id prefix (at least 6 characters)."""
        base = f"SELECT {_COLUMNS} FROM measurements m LEFT JOIN verdicts v USING(measurement_id) "
        # The exact id first, by its index: a prefix LIKE scans the table, and `append` reads back each
        # new row by its id (that scan made every append slower as the store grew).
        row = self._conn.execute(base + "WHERE m.measurement_id = ?", (measurement_id,)).fetchone()
        if row is not None or len(measurement_id) < 6:
            return _entry(row) if row is not None else None
        rows = self._conn.execute(base + "WHERE m.measurement_id LIKE ? || '%' LIMIT 2", (measurement_id,)).fetchall()
        return _entry(rows[0]) if len(rows) == 1 else None

    def entries(self, filt: EntryFilter | None = None) -> Iterator[StoredEntry]:
        """Stored entries in chain order, streamed (memory does not grow with the store).

        With a limit, the newest `limit` matches, still oldest first: what a volunteer looks for is
        what was measured last.
        """
        where, args = _where(filt or EntryFilter())
        sql = f"SELECT {_COLUMNS} FROM measurements m LEFT JOIN verdicts v USING(measurement_id) {where}"
        if filt and filt.limit:
            sql = f"SELECT * FROM ({sql} ORDER BY m.seq DESC LIMIT {int(filt.limit)}) ORDER BY 1"
        else:
            sql += " ORDER BY m.seq"
        cursor = self._conn.cursor()
        cursor.execute(sql, args)
        while rows := cursor.fetchmany(256):
            for row in rows:
                yield _entry(row)

    def label_history(self, urls: Iterable[str]) -> Iterator[tuple[str, str, str, str | None]]:
        """(input, test_start_time, measurement_id, verdict label or None) of every measurement of `urls`:
        the history marks' input (probe.evidence.history), without reading the records."""
        wanted = sorted(set(urls))
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            chunk = wanted[start:start + 500]
            cursor = self._conn.execute(
                "SELECT m.input, m.test_start_time, m.measurement_id, v.label FROM measurements m "
                f"LEFT JOIN verdicts v USING(measurement_id) WHERE m.input IN ({','.join('?' * len(chunk))})",
                chunk)
            for row in cursor:
                yield str(row[0]), str(row[1]), str(row[2]), _opt(row[3])

    def count(self, filt: EntryFilter | None = None) -> int:
        """How many measurements are stored, or match `filt` (its limit ignored)."""
        if filt is None:
            return int(self._conn.execute("SELECT count(*) FROM measurements").fetchone()[0])
        where, args = _where(filt)
        sql = f"SELECT count(*) FROM measurements m LEFT JOIN verdicts v USING(measurement_id) {where}"
        return int(self._conn.execute(sql, args).fetchone()[0])

    def head(self) -> tuple[int, str]:
        """(seq, chain hash) of the newest link of any kind; (0, genesis) for an empty chain."""
        top = links.head(self._conn)
        return top.seq, top.chain_hash

    def links(self, *, after_seq: int = 0) -> Iterator[Link]:
        """Every link (measurements, verdicts, keys, runs) in chain order, streamed."""
        return links.all_links(self._conn, after_seq=after_seq)

    def verdict_links(self, measurement_id: str) -> list[Link]:
        """The signed verdict records of one measurement, oldest first (the last is its verdict)."""
        return links.record_links(self._conn, "verdict", measurement_id)

    def run_links(self, run_id: str) -> list[Link]:
        return links.record_links(self._conn, "run", run_id)

    def chain_records(self, kind: str) -> list[Link]:
        """Every link of one kind kept apart from measurements (verdict, key, run), in chain order."""
        return links.links_of_kind(self._conn, kind)

    def first_record_seq(self) -> int | None:
        """The seq of the first verdict, key or run link: links were chained from there on."""
        row = self._conn.execute("SELECT min(seq) FROM chain_records").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def measurement_hash(self, measurement_id: str) -> tuple[int, str] | None:
        """(seq, record_sha256) of a stored measurement, by its full id."""
        row = self._conn.execute("SELECT seq, record_sha256 FROM measurements WHERE measurement_id=?",
                                 (measurement_id,)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def verdict_row(self, measurement_id: str) -> tuple[str, int, str, str, str, int | None] | None:
        """The verdicts index row: (label, blocked, verdict JSON, rules_version, classified_at, link_seq)."""
        row = self._conn.execute("SELECT label, blocked, verdict, rules_version, classified_at, link_seq "
                                 "FROM verdicts WHERE measurement_id=?", (measurement_id,)).fetchone()
        if row is None:
            return None
        return str(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4]), _opt_int(row[5])

    def run_row(self, run_id: str) -> dict[str, object] | None:
        cur = self._conn.execute("SELECT run_id, list_name, started_at, finished_at, status, counts FROM runs "
                                 "WHERE run_id=?", (run_id,))
        row = cur.fetchone()
        return None if row is None else dict(zip(_RUN_COLUMNS, row, strict=True))

    def run_ids(self) -> Iterator[str]:
        for (run_id,) in self._conn.execute("SELECT run_id FROM runs ORDER BY started_at, run_id").fetchall():
            yield str(run_id)

    def measurement_count(self, run_id: str) -> int:
        return int(self._conn.execute("SELECT count(*) FROM measurements WHERE run_id=?",
                                      (run_id,)).fetchone()[0])

    def leftovers(self) -> dict[str, int]:
        """What the store still holds besides links: artifacts, runs, verdict rows, and the highest seq
        SQLite ever handed out. An emptied store whose counter or side tables remain shows it here."""
        counts = {table: int(self._conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                  for table in ("artifacts", "runs", "verdicts")}
        counts["sequence"] = links.sequence_high(self._conn)
        return counts

    def artifact(self, sha256: str) -> bytes | None:
        row = self._conn.execute("SELECT data FROM artifacts WHERE sha256=?", (sha256,)).fetchone()
        return _blob(row[0]) if row and row[0] is not None else None

    def artifact_info(self, sha256: str) -> tuple[str, int, str | None] | None:
        """(kind, size, pruned_at) of a known artifact."""
        row = self._conn.execute("SELECT kind, size, pruned_at FROM artifacts WHERE sha256=?",
                                 (sha256,)).fetchone()
        return (str(row[0]), int(row[1]), row[2]) if row else None

    def artifact_row(self, sha256: str) -> tuple[str, int, str | None, bytes | None] | None:
        """(kind, size, pruned_at, data) of a known artifact, read in one SELECT.

        Use this, not `artifact_info` then `artifact`, to tell pruned bytes from deleted ones: a prune
        committing between two reads would make bytes that were there look deleted by hand.
        """
        row = self._conn.execute("SELECT kind, size, pruned_at, data FROM artifacts WHERE sha256=?",
                                 (sha256,)).fetchone()
        if row is None:
            return None
        return str(row[0]), int(row[1]), row[2], _blob(row[3]) if row[3] is not None else None

    def runs(self, limit: int = 50) -> list[dict[str, object]]:
        cur = self._conn.execute("SELECT run_id, list_name, started_at, finished_at, status, counts FROM runs "
                                 "ORDER BY started_at DESC LIMIT ?", (limit,))
        return [dict(zip(_RUN_COLUMNS, r, strict=True)) for r in cur.fetchall()]

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())

    # -- internals -------------------------------------------------------------------------------

    def _put_artifact(self, artifact: Artifact) -> None:
        """Store the bytes, or mark known bytes as seen now; bytes pruned earlier are put back.

        Either way the row holds its bytes afterwards, so it is no longer pruned.
        """
        now = _now()
        self._conn.execute(
            "INSERT INTO artifacts(sha256, kind, size, data, first_seen, last_seen) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT(sha256) DO UPDATE SET last_seen=excluded.last_seen, "
            "data=coalesce(artifacts.data, excluded.data), pruned_at=NULL",
            (artifact.sha256, artifact.kind, len(artifact.data), artifact.data, now, now))

    def _chain_verdict(self, measurement_id: str, measurement_sha256: str, verdict: Verdict,
                       signer: Signer | None, *, top: Head) -> int:
        """The verdict as a chained record after `top`, then the index row that copies it (inside a transaction)."""
        record = VerdictRecord(measurement_id=measurement_id, measurement_sha256=measurement_sha256,
                               verdict=verdict, rules_version=verdict.rules_version, classified_at=_now())
        sealed = links.insert_record(self._conn, "verdict", measurement_id, record_bytes(record), signer, top=top)
        self._conn.execute(
            "INSERT OR REPLACE INTO verdicts(measurement_id, label, blocked, verdict, rules_version, classified_at,"
            " link_seq) VALUES (?,?,?,?,?,?,?)",
            (measurement_id, verdict.label, int(is_blocked_label(verdict.label)), verdict.model_dump_json(),
             record.rules_version, record.classified_at, sealed.seq))
        return sealed.seq

    def _chain_run(self, run_id: str, signer: Signer | None) -> None:
        row = self.run_row(run_id)
        top = links.head(self._conn)
        if row is None or (signer is None and top.signature):
            return
        links.prepare_signing(self._conn, signer, _now())
        record = RunRecord(run_id=run_id, list_name=_opt(row["list_name"]), started_at=str(row["started_at"]),
                           finished_at=str(row["finished_at"]), status=str(row["status"]),
                           counts=json.loads(str(row["counts"])), measurements=self.measurement_count(run_id))
        links.insert_record(self._conn, "run", run_id, record_bytes(record), signer)

    def _transaction(self) -> _Transaction:
        self.flush()  # a batch of appends commits first: one write transaction at a time
        return _Transaction(self._conn, self.path)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn, self._path = conn, path

    def __enter__(self) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise write_error(self._path, exc) from exc

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as err:
                rollback(self._conn)
                raise write_error(self._path, err) from err
        else:
            rollback(self._conn)
            if isinstance(exc, sqlite3.Error):
                raise write_error(self._path, exc) from exc


def _entry(row: tuple[object, ...]) -> StoredEntry:
    verdict = Verdict.model_validate_json(str(row[15])) if row[15] else None
    seq, mid, inp, host, cat, start, asn, cc, run_id, record, rec_sha, prev, link, sig, fpr = row[:15]
    return StoredEntry(seq=int(str(seq)), measurement_id=str(mid), input=str(inp), host=str(host),
                       category_code=_opt(cat), test_start_time=str(start), probe_asn=str(asn), probe_cc=str(cc),
                       run_id=_opt(run_id), record=str(record), record_sha256=str(rec_sha), prev_hash=str(prev),
                       chain_hash=str(link), signature=_opt(sig), key_fingerprint=_opt(fpr), verdict=verdict)


def _blob(value: object) -> bytes:
    """Artifact bytes; a value of another type (text, a number) was put there by hand."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise sqlite3.DataError(f"artifact bytes are stored as {type(value).__name__}, not as a blob")


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _where(f: EntryFilter) -> tuple[str, list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    simple = (("m.input = ?", f.url), ("m.host = ?", f.host and f.host.lower()),
              ("m.category_code = ?", f.category), ("m.test_start_time >= ?", f.since),
              ("m.test_start_time <= ?", f.until), ("m.probe_asn = ?", f.asn), ("m.run_id = ?", f.run_id))
    for clause, value in simple:
        if value:
            clauses.append(clause)
            args.append(value)
    if f.verdict == "blocked":
        clauses.append("v.blocked = 1")
    elif f.verdict:
        clauses.append("v.label = ?")
        args.append(f.verdict)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", args

