"""One bundle from many probes, streamed from the hub's database, and its offline check.

The bundle is a zip: `probes.json` (each probe's name, key fingerprint, public key and whether the hub
revoked it), `links/<fingerprint>.jsonl` (that probe's chain links in order, exactly as signed),
`manifest.json` (filters, counts, SHA-256 of every file) and `README.txt`. Nothing in it needs the hub
to be trusted: every link carries its record, hashes and the probe's signature, checked by
`verify_bundle` with the same primitives `probe verify` uses. Rows are read with a server-side cursor
and written as they come, so memory does not grow with the bundle. Filters match `probe export`'s:
site, network (AS number), time range, newest N.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from probe.errors import EvidenceError
from probe.evidence.keys import fingerprint, load_public_key_pem, signature_hex_valid
from probe.models.canonical import chain_hash, sha256_hex

FORMAT = "probe-hub-bundle/1"
_FIELDS = ("seq", "kind", "record", "record_sha256", "prev_hash", "chain_hash", "signature", "key_fingerprint")
README = """A bundle of censorship measurements collected by a probe hub from several probes.

probes.json lists each probe: its name, its Ed25519 public key and that key's fingerprint.
links/<fingerprint>.jsonl holds that probe's measurements as chain links, one JSON object a line:
  record         the measurement, canonical JSON (sorted keys, UTF-8, no spaces)
  record_sha256  SHA-256 of the record's bytes
  prev_hash      the chain hash of the probe's previous link (64 zeros for its first)
  chain_hash     SHA-256 of the ASCII text prev_hash + record_sha256
  signature      Ed25519 signature, by the probe's key, of the chain_hash's ASCII text
Check it offline with `probe hub verify BUNDLE`, or by hand: for one line,
  printf '%s' "$record" | sha256sum; printf '%s%s' PREV REC | sha256sum
A break in a probe's chain (a link whose prev_hash is not the line before's chain_hash) means the
bundle holds a segment, not the whole chain: filters select, they never change a link.
"""


@dataclass(frozen=True)
class ExportFilter:
    host: str | None = None
    asn: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int | None = None  # the newest N measurements


@dataclass
class ExportSummary:
    links: int = 0
    probes: int = 0


def export_bundle(conn: psycopg.Connection[Any], out: Path, *, filt: ExportFilter) -> ExportSummary:
    """Write the bundle to `out` (via a temporary file, renamed when complete)."""
    tmp = out.with_name(out.name + ".part")
    summary = ExportSummary()
    files: dict[str, dict[str, Any]] = {}
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            probes = _probes(conn)
            current: tuple[str, IO[bytes]] | None = None
            digest: Any = None
            for row in _rows(conn, filt):
                fp = row[7]
                if current is None or current[0] != fp:
                    if current is not None:
                        current[1].close()
                        files[_name(current[0])]["sha256"] = digest.hexdigest()
                    handle = zf.open(_name(fp), "w", force_zip64=True)
                    current, digest = (fp, handle), _Hash()
                    files[_name(fp)] = {"links": 0}
                    summary.probes += 1
                line = json.dumps(dict(zip(_FIELDS, row, strict=True)), ensure_ascii=False).encode("utf-8") + b"\n"
                current[1].write(line)
                digest.update(line)
                files[_name(fp)]["links"] += 1
                summary.links += 1
            if current is not None:
                current[1].close()
                files[_name(current[0])]["sha256"] = digest.hexdigest()
            listed = json.dumps(probes, indent=1, ensure_ascii=False).encode("utf-8")
            zf.writestr("probes.json", listed)
            zf.writestr("README.txt", README)
            manifest = {"format": FORMAT, "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "filters": {k: v for k, v in filt.__dict__.items() if v is not None},
                        "links": summary.links, "probes": summary.probes,
                        "files": {"probes.json": {"sha256": sha256_hex(listed)}, **files}}
            zf.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return summary


class _Hash:
    def __init__(self) -> None:
        import hashlib

        self._h = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _name(fp: str) -> str:
    return f"links/{fp.removeprefix('ed25519:')}.jsonl"


def _probes(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT key_fingerprint, name, public_key_pem, revoked_at FROM probes "
                        "ORDER BY key_fingerprint").fetchall()
    return [{"key_fingerprint": r[0], "name": r[1], "public_key_pem": r[2],
             "revoked_at": r[3].strftime("%Y-%m-%dT%H:%M:%SZ") if r[3] else None} for r in rows]


def _rows(conn: psycopg.Connection[Any], filt: ExportFilter) -> Iterator[tuple[Any, ...]]:
    clauses: list[sql.Composable] = [sql.SQL("true")]
    args: list[str] = []
    for column, op, value in (("host", "=", filt.host and filt.host.lower()), ("probe_asn", "=", filt.asn),
                              ("test_start_time", ">=", filt.since), ("test_start_time", "<=", filt.until)):
        if value:
            clauses.append(sql.SQL("{} {} %s").format(sql.Identifier(column), sql.SQL(op)))
            args.append(value)
    where = sql.SQL(" AND ").join(clauses)
    inner = sql.SQL("SELECT {} FROM links WHERE {}").format(sql.SQL(", ").join(map(sql.Identifier, _FIELDS)), where)
    if filt.limit:
        inner = sql.SQL("{} ORDER BY test_start_time DESC LIMIT {}").format(inner, sql.Literal(int(filt.limit)))
    query = sql.SQL("SELECT * FROM ({}) t ORDER BY key_fingerprint, seq").format(inner)
    with conn.transaction(), conn.cursor(name="hub_export") as cur:  # server-side: streamed
        cur.itersize = 2000
        cur.execute(query, args)
        yield from cur


@dataclass
class ProbeCheck:
    name: str
    key_fingerprint: str
    revoked: bool
    links: int = 0
    segments: int = 0  # runs of consecutive links; more than one: the bundle holds parts of the chain
    failures: list[str] = field(default_factory=list)


def verify_bundle(path: Path) -> list[ProbeCheck]:
    """Check every link of every probe in a hub bundle; EvidenceError if it is not one."""
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise EvidenceError(f"{path} is not a readable bundle: {exc}") from exc
    with zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
            probes = json.loads(zf.read("probes.json"))
        except (KeyError, ValueError) as exc:
            raise EvidenceError(f"{path} is not a hub bundle (no manifest.json or probes.json)") from exc
        if manifest.get("format") != FORMAT:
            raise EvidenceError(f"{path}: unknown bundle format {manifest.get('format')!r}")
        return [_check_probe(zf, p, manifest) for p in probes if _name(p["key_fingerprint"]) in zf.namelist()]


def _check_probe(zf: zipfile.ZipFile, probe: dict[str, Any], manifest: dict[str, Any]) -> ProbeCheck:
    check = ProbeCheck(name=str(probe["name"]), key_fingerprint=str(probe["key_fingerprint"]),
                       revoked=probe.get("revoked_at") is not None)
    key = load_public_key_pem(str(probe["public_key_pem"]).encode("ascii"))
    if fingerprint(key) != check.key_fingerprint:
        check.failures.append("the public key does not have the fingerprint the bundle names")
        return check
    digest, prev = _Hash(), None
    with zf.open(_name(check.key_fingerprint)) as handle:
        for number, line in enumerate(handle, 1):
            digest.update(line)
            problem = _check_link(line, check.key_fingerprint, key)
            if problem:
                check.failures.append(f"line {number}: {problem}")
                continue
            link = json.loads(line)
            check.segments += prev != link["prev_hash"]  # the first line, or a break in the chain
            prev = link["chain_hash"]
            check.links += 1
    listed = manifest.get("files", {}).get(_name(check.key_fingerprint), {}).get("sha256")
    if listed != digest.hexdigest():
        check.failures.append("the file's SHA-256 differs from the manifest's (changed after export)")
    return check


def _check_link(line: bytes, key_fp: str, key: Any) -> str | None:
    try:
        link = json.loads(line)
        record, rec, prev, link_hash = link["record"], link["record_sha256"], link["prev_hash"], link["chain_hash"]
        if link["key_fingerprint"] != key_fp:
            return "signed by another key"
        if sha256_hex(record.encode("utf-8")) != rec:
            return "record_sha256 does not match the record"
        if chain_hash(prev, rec) != link_hash:
            return "chain_hash is not SHA-256(prev_hash + record_sha256)"
        if not signature_hex_valid(key, link["signature"], link_hash.encode("ascii")):
            return "the signature is not by the probe's key"
    except (ValueError, KeyError, TypeError, AttributeError):
        return "not a chain link"
    return None
