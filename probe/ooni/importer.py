"""`probe import ooni`: OONI's measurements read, mapped, classified by our rules and stored as
third-party evidence (`probe.store.third_party`), never in our hash chain and never signed by us.

Streams: measurements are read one at a time and written in batches (each its own transaction), so a
file of any size is imported in bounded memory and a crash keeps every batch already written.
Measurements of other tests are counted and skipped; a bad line or a measurement we cannot read is
reported as file:line and the rest is imported. The same measurement imported again (the same
`measurement_uid`, or without one the same content) adds nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from probe.classify import ClassifyContext, classify
from probe.models import Verdict
from probe.models.canonical import canonical_json, sha256_hex
from probe.ooni.mapping import Mapped, MappingError, map_measurement
from probe.ooni.read import Bad, Good, read_measurements
from probe.store.third_party import ThirdPartyRow, ThirdPartyStore

SOURCE = "ooni"
EXPLORER = "https://explorer.ooni.org"
_BATCH_ROWS = 200
BATCH_BYTES = 8 << 20  # raw measurements held before a write: bounds memory with huge lines


@dataclass
class ImportSummary:
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    skipped_tests: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)  # "file:line: why"
    labels: Counter[str] = field(default_factory=Counter)


def explorer_link(raw: dict[str, object]) -> str | None:
    """OONI Explorer's page for a measurement: by measurement_uid, else by report_id and input."""
    uid, report, url = raw.get("measurement_uid"), raw.get("report_id"), raw.get("input")
    if isinstance(uid, str) and uid:
        return f"{EXPLORER}/m/{quote(uid, safe='')}"
    if isinstance(report, str) and report:
        suffix = f"?input={quote(url, safe='')}" if isinstance(url, str) and url else ""
        return f"{EXPLORER}/measurement/{quote(report, safe='')}{suffix}"
    return None


def import_ooni(paths: Iterable[Path], *, store: ThirdPartyStore, context: ClassifyContext,
                on_problem: Callable[[str], None] | None = None, batch_bytes: int = BATCH_BYTES) -> ImportSummary:
    """Import every measurement in `paths`; OSError for a file that cannot be opened."""
    summary = ImportSummary()
    batch = _Batch(store, summary, batch_bytes)
    for path in paths:
        for item in read_measurements(path):
            if isinstance(item, Bad):
                _problem(summary, f"{item.where}: {item.why}", on_problem)
                continue
            summary.read += 1
            problem = _one(item, path, context, batch, summary)
            if problem:
                _problem(summary, f"{item.where}: {problem}", on_problem)
        batch.flush()
    batch.flush()
    return summary


def _problem(summary: ImportSummary, text: str, on_problem: Callable[[str], None] | None) -> None:
    summary.problems.append(text)
    if on_problem is not None:
        on_problem(text)


def _one(item: Good, path: Path, context: ClassifyContext, batch: _Batch, summary: ImportSummary) -> str | None:
    raw = item.raw
    test_name = str(raw.get("test_name") or "unknown")
    if test_name != "web_connectivity":
        summary.skipped_tests[test_name] += 1
        return None
    try:
        data = canonical_json(raw)
    except ValueError as exc:
        return f"cannot be stored as JSON ({exc})"
    uid = raw.get("measurement_uid")
    key = f"{SOURCE}:{uid}" if isinstance(uid, str) and uid else f"sha256:{sha256_hex(data)}"
    if batch.seen(key):
        summary.duplicates += 1
        return None
    try:
        mapped = map_measurement(raw, key=key)
    except MappingError as exc:
        return str(exc)
    verdict = classify(mapped.measurement, bodies=mapped.bodies, context=context)
    batch.add(_row(raw, data, key, mapped, verdict, path), len(data))
    summary.labels[verdict.label] += 1
    return None


def _row(raw: dict[str, object], data: bytes, key: str, mapped: Mapped, verdict: Verdict, path: Path
         ) -> ThirdPartyRow:
    m = mapped.measurement
    keys = raw.get("test_keys")
    tk: dict[str, object] = keys if isinstance(keys, dict) else {}
    blocking = tk.get("blocking")
    accessible = tk.get("accessible")
    uid, report = raw.get("measurement_uid"), raw.get("report_id")
    return ThirdPartyRow(
        source=SOURCE, dedup_key=key, measurement_uid=uid if isinstance(uid, str) and uid else None,
        report_id=report if isinstance(report, str) and report else None, test_name="web_connectivity",
        test_version=str(raw.get("test_version") or ""), input=m.input, host=_host(m.input),
        test_start_time=m.test_start_time, probe_cc=m.network.probe_cc, probe_asn=m.network.probe_asn,
        probe_network_name=m.network.probe_network_name, software=f"{m.software_name} {m.software_version}".strip(),
        link=explorer_link(raw), source_blocking=blocking if isinstance(blocking, str | bool) else None,
        source_accessible=accessible if isinstance(accessible, bool) else None, verdict=verdict,
        record=canonical_json(m.model_dump(mode="json")).decode("utf-8"), raw=data, raw_sha256=sha256_hex(data),
        imported_from=f"{path.parent.name}/{path.name}" if path.parent.name else path.name)


def _host(url: str) -> str:
    """The host as our own store keeps it (so `--host` selects OONI's and ours alike)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class _Batch:
    """Rows waiting to be written; flushed every few hundred rows or megabytes."""

    def __init__(self, store: ThirdPartyStore, summary: ImportSummary, max_bytes: int) -> None:
        self.store, self.summary, self.max_bytes = store, summary, max_bytes
        self.rows: list[ThirdPartyRow] = []
        self.keys: set[str] = set()
        self.size = 0

    def seen(self, key: str) -> bool:
        return key in self.keys or self.store.has(key)

    def add(self, row: ThirdPartyRow, size: int) -> None:
        self.rows.append(row)
        self.keys.add(row.dedup_key)
        self.size += size
        if len(self.rows) >= _BATCH_ROWS or self.size >= self.max_bytes:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.summary.imported += self.store.add_many(self.rows)
        self.rows, self.keys, self.size = [], set(), 0
