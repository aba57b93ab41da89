"""Tables the CLI prints: run summaries and stored-measurement listings (rich, to stdout)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from probe.cli.progress import ResultRow
from probe.measure.runner import RunSummary
from probe.store import StoredEntry


def print_run_table(summary: RunSummary, rows: list[ResultRow], hidden_ok: int, store_path: Path) -> None:
    table = Table(title=f"{summary.total} measured · stored in {store_path}")
    for col in ("URL", "verdict", "failing step", "failure", "id"):
        table.add_column(col, overflow="fold")
    for row in rows:
        style = "green" if row.verdict == "ok" else "red" if row.failure or "." in row.verdict else None
        table.add_row(row.url, row.verdict, row.step, row.failure, row.measurement_id[:8], style=style)
    console = Console()
    console.print(table)
    if hidden_ok:
        console.print(f"… and {hidden_ok} more ok (see `probe results`)")
    counts = ", ".join(f"{label}: {n}" for label, n in sorted(summary.counts.items()))
    console.print(f"verdicts: {counts or 'none'}")


def print_entries(entries: Iterable[StoredEntry]) -> int:
    table = Table()
    for col in ("id", "time (UTC)", "URL", "network", "verdict", "failure"):
        table.add_column(col, overflow="fold")
    n = 0
    for e in entries:
        m = e.measurement()
        verdict = e.verdict.label if e.verdict else "unclassified"
        table.add_row(e.measurement_id[:8], e.test_start_time[:19], e.input, f"{e.probe_asn} {e.probe_cc}",
                      verdict, m.final_failure or "")
        n += 1
    Console().print(table)
    return n
