"""One bundle from many probes, streamed from the hub's database (`probe hub export`, GET /api/v1/bundle).

The bundle is a zip (format "probe-hub-bundle/1"): `links/<fingerprint>.jsonl` (each probe's chain
links in seq order, exactly as signed), `probes.json` (each key's public key, and the name and
revocation the hub gives it), `report.html` and `VERIFY.txt` (computed from the links alone,
probe.hub.bundle_report), `README.txt`, and `manifest.json` (filters, counts, SHA-256 of every
file). Nothing in it needs the hub to be trusted: `probe verify` checks every link with the probe's
key and renders the report again. Rows come through a server-side cursor and are written as they
come, so memory does not grow with the links (the report keeps counters). Filters match `probe
export`'s: site, network (AS number), time range, and newest N; a filtered bundle holds the selected
measurements with their signed verdict records, an unfiltered one every link. The zip is written in
a staging folder beside the destination (probe.evidence.bundle.staging) and renamed into place when done,
so a killed export leaves nothing behind. The offline check is probe.hub.bundle_verify's job.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from probe import __version__
from probe.evidence.bundle.staging import staged_zip, staging_folder
from probe.hub.bundle_facts import Collector
from probe.hub.bundle_format import FORMAT, README, member_name, meta_from
from probe.hub.bundle_report import render_report, verify_text
from probe.hub.bundle_verify import ProbeCheck, verify_bundle
from probe.models.canonical import sha256_hex

__all__ = ["FORMAT", "ExportFilter", "ExportSummary", "ProbeCheck", "export_bundle", "verify_bundle"]
_FIELDS = ("seq", "kind", "record", "record_sha256", "prev_hash", "chain_hash", "signature", "key_fingerprint")


@dataclass(frozen=True)
class ExportFilter:
    host: str | None = None
    asn: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int | None = None  # the newest N measurements

    def used(self) -> dict[str, str | int]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ExportSummary:
    links: int = 0
    probes: int = 0
    measurements: int = 0


def export_bundle(conn: psycopg.Connection[Any], out: Path, *, filt: ExportFilter) -> ExportSummary:
    """Write the bundle to `out` (replacing it), via a staging folder beside it."""
    with staging_folder(out) as root:
        tmp = staged_zip(root, out)
        summary = _write(conn, tmp, filt)
        os.replace(tmp, out)
    return summary


def _write(conn: psycopg.Connection[Any], tmp: Path, filt: ExportFilter) -> ExportSummary:
    summary, collector = ExportSummary(), Collector()
    files: dict[str, dict[str, Any]] = {}
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        probes = _probes(conn)
        current: tuple[str, IO[bytes], Any] | None = None
        for row in _rows(conn, filt):
            fp = str(row[7])
            if current is None or current[0] != fp:
                if current is not None:
                    _close(current, files)
                current = (fp, zf.open(member_name(fp), "w", force_zip64=True), hashlib.sha256())
                files[member_name(fp)] = {"links": 0}
                summary.probes += 1
            line = json.dumps(dict(zip(_FIELDS, row, strict=True)), ensure_ascii=False).encode("utf-8") + b"\n"
            current[1].write(line)
            current[2].update(line)
            files[member_name(fp)]["links"] += 1
            summary.links += 1
            collector.add(key_fingerprint=fp, kind=str(row[1]), seq=int(row[0]), record=str(row[2]),
                          record_sha256=str(row[3]))
        if current is not None:
            _close(current, files)
        facts = collector.finish()
        summary.measurements = facts.count
        meta = meta_from(created=created, software_version=__version__, filters=filt.used(), probes=probes)
        members = {"probes.json": json.dumps(probes, indent=1, ensure_ascii=False).encode("utf-8"),
                   "README.txt": README.encode("utf-8"),
                   "VERIFY.txt": verify_text(facts, meta).encode("utf-8"),
                   "report.html": render_report(facts, meta).encode("utf-8")}
        for name, data in members.items():
            zf.writestr(name, data)
            files[name] = {"sha256": sha256_hex(data)}
        manifest = {"format": FORMAT, "created": created, "software_version": __version__,
                    "filters": filt.used(), "links": summary.links, "probes": summary.probes,
                    "measurements": facts.count, "files": files}
        zf.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False))
    return summary


def _close(current: tuple[str, IO[bytes], Any], files: dict[str, dict[str, Any]]) -> None:
    current[1].close()
    files[member_name(current[0])]["sha256"] = current[2].hexdigest()


def _probes(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT key_fingerprint, name, public_key_pem, revoked_at FROM probes "
                        "ORDER BY key_fingerprint").fetchall()
    return [{"key_fingerprint": r[0], "name": r[1], "public_key_pem": r[2],
             "revoked_at": r[3].strftime("%Y-%m-%dT%H:%M:%SZ") if r[3] else None} for r in rows]


def _rows(conn: psycopg.Connection[Any], filt: ExportFilter) -> Iterator[tuple[Any, ...]]:
    columns = sql.SQL(", ").join(map(sql.Identifier, _FIELDS))
    clauses: list[sql.Composable] = []
    args: list[str] = []
    until = filt.until + "T23:59:59.999999Z" if filt.until and len(filt.until) == 10 else filt.until  # whole day
    for column, op, value in (("host", "=", filt.host and filt.host.lower()), ("probe_asn", "=", filt.asn),
                              ("test_start_time", ">=", filt.since), ("test_start_time", "<=", until)):
        if value:
            clauses.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(op)))
            args.append(value)
    if not clauses and not filt.limit:
        query = sql.SQL("SELECT {} FROM links ORDER BY key_fingerprint, seq").format(columns)
    else:
        # The selected measurements, and the signed verdict records about them (same key, same measurement).
        where = sql.SQL(" AND ").join([sql.SQL("kind = 'measurement'"), *clauses])
        chosen = sql.SQL("SELECT {}, measurement_id FROM links WHERE {}").format(columns, where)
        if filt.limit:
            chosen = sql.SQL("{} ORDER BY test_start_time DESC, id DESC LIMIT {}").format(
                chosen, sql.Literal(int(filt.limit)))
        query = sql.SQL(
            "WITH m AS MATERIALIZED ({chosen}) "
            "SELECT {columns} FROM m UNION ALL "
            "SELECT {v_columns} FROM links v JOIN (SELECT DISTINCT key_fingerprint, measurement_id FROM m) s "
            "ON v.key_fingerprint = s.key_fingerprint AND v.measurement_id = s.measurement_id "
            "WHERE v.kind = 'verdict' ORDER BY key_fingerprint, seq").format(
            chosen=chosen, columns=columns, v_columns=sql.SQL(", ").join(sql.Identifier("v", f) for f in _FIELDS))
    with conn.transaction(), conn.cursor(name="hub_export") as cur:  # server-side: streamed
        cur.itersize = 2000
        cur.execute(query, args)
        yield from cur
