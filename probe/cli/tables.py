"""Tables the CLI prints: run summaries and stored-measurement listings (rich, to stdout)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from probe.cli.progress import ResultRow
from probe.measure.runner import RunSummary
from probe.store import StoredEntry

REASON_CHARS = 72  # a verdict's first reason, clipped: three or four lines in a 100-column terminal


def print_run_table(summary: RunSummary, rows: list[ResultRow], hidden_ok: int, store_path: Path, *,
                    hidden_other: int = 0, console: Console | None = None) -> None:
    """One row per measurement: the verdict with its confidence, the failing step and its failure, and
    the first reason the classifier gave (for anything but ok; `probe show ID` has them all)."""
    table = Table(title=f"{summary.total} measured · stored in {store_path}")
    table.add_column("URL", overflow="fold")
    table.add_column("verdict", overflow="fold")
    table.add_column("failure", overflow="fold")
    table.add_column("first reason", overflow="fold")
    table.add_column("id", no_wrap=True, min_width=8)
    for row in rows:
        ok = row.verdict == "ok"
        style = "green" if ok else "red" if row.failure or "." in row.verdict else None
        verdict = f"{row.verdict}\n({row.confidence})" if row.confidence and not ok else row.verdict
        failure = f"{row.step}:\n{row.failure}" if row.step and row.failure else row.failure
        cells = (row.url, verdict, failure, "" if ok else clip(row.reason), row.measurement_id[:8])
        table.add_row(*(Text(cell) for cell in cells), style=style)  # Text: brackets are not rich markup
    console = console or Console()
    console.print(table)
    if hidden_ok:
        console.print(f"… and {hidden_ok} more ok (see `probe results`)")
    if hidden_other:
        console.print(f"… and {hidden_other} more that are not ok (see `probe results --limit 0`)")
    counts = ", ".join(f"{label}: {n}" for label, n in sorted(summary.counts.items()))
    console.print(f"verdicts: {counts or 'none'}")


def clip(text: str, limit: int = REASON_CHARS) -> str:
    """`text` cut to `limit` characters at a word boundary where one is near, ending in an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:(") + "…"


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
