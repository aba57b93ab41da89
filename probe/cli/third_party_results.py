"""`probe results --source ooni`: the OONI measurements `probe import ooni` stored, each labelled as
OONI's, with OONI's own blocking/accessible beside our verdict on what OONI's probe saw."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from probe.store.third_party import ThirdPartyFilter, ThirdPartyRow, ThirdPartyStore


def print_third_party(store_path: Path, filt: ThirdPartyFilter, *, as_json: bool) -> int:
    """Print the matching rows (table or JSON lines); returns how many were printed."""
    if not store_path.exists():
        from probe.errors import StoreError

        raise StoreError(f"no store at {store_path}", hint="run `probe import ooni FILE` first, or pass --store PATH")
    with ThirdPartyStore.open(store_path, create=False) as store:
        rows = store.entries(filt)
        n = _json(rows) if as_json else _table(rows)
        total = store.count(ThirdPartyFilter(**{**vars(filt), "limit": None}))
    if n and filt.limit and n == filt.limit and total > n:
        click.echo(f"showing {n} of {total} matching OONI measurements (the newest); --limit 0 shows all", err=True)
    return n


def ooni_verdict_text(row: ThirdPartyRow) -> str:
    """OONI's own reading, as OONI writes it: blocking=dns, accessible=false."""
    blocking = "null" if row.source_blocking is None else str(row.source_blocking).lower()
    accessible = "null" if row.source_accessible is None else str(row.source_accessible).lower()
    return f"blocking={blocking} accessible={accessible}"


def _json(rows: Iterable[ThirdPartyRow]) -> int:
    n = 0
    for n, r in enumerate(rows, start=1):  # noqa: B007 (n is the count after the loop)
        click.echo(json.dumps({"source": r.source, "measurement_uid": r.measurement_uid, "report_id": r.report_id,
                               "input": r.input, "test_start_time": r.test_start_time, "probe_cc": r.probe_cc,
                               "probe_asn": r.probe_asn, "probe_network_name": r.probe_network_name,
                               "ooni_blocking": r.source_blocking, "ooni_accessible": r.source_accessible,
                               "verdict": r.verdict.label, "confidence": r.verdict.confidence, "link": r.link,
                               "test_version": r.test_version, "imported_from": r.imported_from},
                              ensure_ascii=False))
    return n


def _table(rows: Iterable[ThirdPartyRow]) -> int:
    table = Table(title="OONI's measurements (what OONI's probe saw; third-party, not signed by this probe)")
    for name in ("time (UTC)", "network", "URL", "OONI says", "our rules say", "OONI Explorer"):
        table.add_column(name, overflow="fold")
    n = 0
    for n, r in enumerate(rows, start=1):  # noqa: B007
        table.add_row(*(Text(c) for c in (r.test_start_time, f"{r.probe_cc} {r.probe_asn}", r.input,
                                           ooni_verdict_text(r), f"{r.verdict.label} ({r.verdict.confidence})",
                                           r.link or "not published (no report_id)")))
    if n:
        Console().print(table)
    return n
