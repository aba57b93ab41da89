"""Third-party measurements (OONI's) in the store: written by `probe import ooni`, read by results,
export, report and verify.

Its own table (migration 0005, `third_party_schema.py`) and its own connection to the store's file,
so nothing here touches our measurements, our hash chain or our signatures. A row is written once:
adding a measurement whose `dedup_key` is already stored does nothing and says so. This module stores
and reads; it does not parse OONI's format or classify.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from probe.errors import StoreError
from probe.models import Measurement, Verdict
from probe.models.verdict import is_blocked_label
from probe.store.schema import _now
from probe.store.store import Store


@dataclass(frozen=True)
class ThirdPartyRow:
    """One third-party measurement, with where it came from and both verdicts."""

    source: str
    dedup_key: str
    measurement_uid: str | None
    report_id: str | None
    test_name: str
    test_version: str
    input: str
    host: str
    test_start_time: str
    probe_cc: str
    probe_asn: str
    probe_network_name: str
    software: str
    link: str | None
    source_blocking: str | bool | None  # OONI's `blocking`
    source_accessible: bool | None
    verdict: Verdict
    record: str  # canonical JSON of the Measurement it maps to
    raw: bytes  # canonical JSON as published
    raw_sha256: str
    imported_from: str

    def measurement(self) -> Measurement:
        return Measurement.model_validate_json(self.record)


@dataclass(frozen=True)
class ThirdPartyFilter:
    source: str | None = None
    url: str | None = None
    host: str | None = None
    since: str | None = None
    until: str | None = None
    verdict: str | None = None  # a label, or "blocked"
    asn: str | None = None
    limit: int | None = None


_COLUMNS = ("source, dedup_key, measurement_uid, report_id, test_name, test_version, input, host, test_start_time, "
            "probe_cc, probe_asn, probe_network_name, software, link, source_blocking, source_accessible, verdict, "
            "record, raw, raw_sha256, imported_from")


class ThirdPartyStore:
    """Open with `ThirdPartyStore.open(path)` (migrates the store first); a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> ThirdPartyStore:
        path = Path(path)
        Store.open(path, create=create).close()  # creates and migrates (0005 included), or says why not
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store {path}: {exc}") from exc
        return cls(conn, path)

    def __enter__(self) -> ThirdPartyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def has(self, dedup_key: str) -> bool:
        return self._conn.execute("SELECT 1 FROM third_party_measurements WHERE dedup_key=?",
                                  (dedup_key,)).fetchone() is not None

    def add_many(self, rows: list[ThirdPartyRow]) -> int:
        """Store rows in one transaction; returns how many were new (the others were already stored)."""
        added = 0
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    cur = self._conn.execute(
                        f"INSERT OR IGNORE INTO third_party_measurements({_COLUMNS}, label, blocked, imported_at) "
                        f"VALUES ({', '.join('?' * 24)})",
                        (row.source, row.dedup_key, row.measurement_uid, row.report_id, row.test_name,
                         row.test_version, row.input, row.host, row.test_start_time, row.probe_cc, row.probe_asn,
                         row.probe_network_name, row.software, row.link, json.dumps(row.source_blocking),
                         json.dumps(row.source_accessible), row.verdict.model_dump_json(), row.record,
                         zlib.compress(row.raw, 6), row.raw_sha256, row.imported_from, row.verdict.label,
                         int(is_blocked_label(row.verdict.label)), _now()))
                    added += cur.rowcount
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the store {self.path}: {exc}",
                             hint="is the disk full or the store read-only?") from exc
        return added

    def entries(self, filt: ThirdPartyFilter | None = None) -> Iterator[ThirdPartyRow]:
        """Matching rows, oldest measurement first (the newest `limit` when a limit is set)."""
        where, args = _where(filt or ThirdPartyFilter())
        sql = f"SELECT {_COLUMNS} FROM third_party_measurements{where} ORDER BY test_start_time, id"
        if filt is not None and filt.limit:
            sql = (f"SELECT * FROM (SELECT {_COLUMNS}, id FROM third_party_measurements{where} "
                   f"ORDER BY test_start_time DESC, id DESC LIMIT ?) ORDER BY test_start_time, id")
            args.append(filt.limit)
        for row in self._conn.execute(sql, args):
            yield _row(row)

    def count(self, filt: ThirdPartyFilter | None = None) -> int:
        where, args = _where(filt or ThirdPartyFilter())
        return int(self._conn.execute(f"SELECT count(*) FROM third_party_measurements{where}", args).fetchone()[0])


def _row(r: tuple[object, ...]) -> ThirdPartyRow:
    return ThirdPartyRow(
        source=str(r[0]), dedup_key=str(r[1]), measurement_uid=_opt(r[2]), report_id=_opt(r[3]),
        test_name=str(r[4]), test_version=str(r[5]), input=str(r[6]), host=str(r[7]), test_start_time=str(r[8]),
        probe_cc=str(r[9]), probe_asn=str(r[10]), probe_network_name=str(r[11]), software=str(r[12]),
        link=_opt(r[13]), source_blocking=json.loads(str(r[14])), source_accessible=json.loads(str(r[15])),
        verdict=Verdict.model_validate_json(str(r[16])), record=str(r[17]),
        raw=zlib.decompress(bytes(r[18])) if isinstance(r[18], bytes) else b"", raw_sha256=str(r[19]),
        imported_from=str(r[20]))


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _where(f: ThirdPartyFilter) -> tuple[str, list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    for column, value in (("source", f.source), ("input", f.url), ("host", f.host and f.host.lower()),
                          ("probe_asn", f.asn)):
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    if f.since:
        clauses.append("test_start_time >= ?")
        args.append(f.since)
    if f.until:
        clauses.append("test_start_time <= ?")
        args.append(f.until)
    if f.verdict == "blocked":
        clauses.append("blocked = 1")
    elif f.verdict:
        clauses.append("label = ?")
        args.append(f.verdict)
    return (" WHERE " + " AND ".join(clauses) if clauses else "", args)
