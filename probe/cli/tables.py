"""Tables the CLI prints: run summaries and stored-measurement listings (rich, to stdout)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from probe.cli.fit import Column, fit, shorten
from probe.cli.progress import ResultRow
from probe.i18n import _
from probe.measure.runner import RunSummary
from probe.store import StoredEntry

REASON_CHARS = 72  # a verdict's first reason, clipped: three or four lines in a 100-column terminal


def print_run_table(summary: RunSummary, rows: list[ResultRow], hidden_ok: int, store_path: Path, *,
                    hidden_other: int = 0, console: Console | None = None, wide: bool = False) -> None:
    """One row per measurement: the verdict with its confidence, the failing step and its failure, and
    the first reason the classifier gave (for anything but ok; `probe show ID` has them all).

    Each row is one line that fits the terminal: the verdict, URL and id come first; long URLs are
    shortened in the middle and reasons at a word; the failure goes before anything else must.
    `wide` shows every column in full, wrapped."""
    console = console or Console()
    columns = [Column(_("verdict"), 0, 8), Column("URL", 1, 16, "middle", want=30), Column("id", 2, 8),
               Column(_("first reason"), 3, 20, "end", want=28), Column(_("failure"), 4, 16, "end", want=24)]
    cells = []
    for row in rows:
        ok = row.verdict == "ok"
        verdict = f"{row.verdict} ({row.confidence})" if row.confidence and not ok else row.verdict
        failure = f"{row.step}: {row.failure}" if row.step and row.failure else row.failure
        cells.append((verdict, row.url, row.measurement_id[:8], "" if ok else clip(row.reason), failure))
    styles = ["green" if r.verdict == "ok" else "red" if r.failure or "." in r.verdict else None for r in rows]
    title = _("{total} measured · stored in {store}").format(total=summary.total, store=store_path)
    _print_fitted(console, title, columns, cells, styles, wide=wide)
    if hidden_ok:
        console.print(_("… and {count} more ok (see `probe results`)").format(count=hidden_ok))
    if hidden_other:
        console.print(_("… and {count} more that are not ok (see `probe results --limit 0`)").format(
            count=hidden_other))
    counts = ", ".join(f"{label}: {n}" for label, n in sorted(summary.counts.items()))
    console.print(_("verdicts: {counts}").format(counts=counts or _("none")))


def _print_fitted(console: Console, title: str | None, columns: list[Column], cells: Sequence[tuple[str, ...]],
                  styles: list[str | None], *, wide: bool) -> None:
    """Print `cells` under `columns`: each row on one line fitted to the console, or wrapped in full
    (`wide`). Says which columns it left out, so nothing is hidden without a word."""
    if wide:
        shown, widths = list(range(len(columns))), None
    else:
        shown, widths = fit(columns, cells, console.width)
    table = Table(title=title, title_justify="left")
    for pos, i in enumerate(shown):
        if widths is None:
            table.add_column(columns[i].header, overflow="fold")
        else:
            table.add_column(columns[i].header, no_wrap=True, overflow="ellipsis", width=widths[pos])
    for row, style in zip(cells, styles, strict=True):
        values = [row[i] if widths is None else shorten(row[i], widths[pos], columns[i].shrink)
                  for pos, i in enumerate(shown)]
        table.add_row(*(Text(v) for v in values), style=style)  # Text: brackets are not rich markup
    console.print(table)
    left_out = [columns[i].header for i in range(len(columns)) if i not in shown]
    if left_out:
        console.print(_("(not shown at this width: {columns}; --wide shows every column)").format(
            columns=", ".join(left_out)))


def clip(text: str, limit: int = REASON_CHARS) -> str:
    """`text` cut to `limit` characters at a word boundary where one is near, ending in an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:(") + "…"


def print_entries(entries: Iterable[StoredEntry], *, console: Console | None = None, wide: bool = False) -> int:
    """Stored measurements, one line each (fitted to the terminal unless `wide`): the verdict, the time
    and URL, the network, the id for `probe show`, and the failure when there is room."""
    columns = [Column(_("verdict"), 0, 8), Column("URL", 1, 16, "middle", want=30),
               Column(_("time (UTC)"), 2, 16), Column("id", 3, 8), Column(_("network"), 4, 8, "end", want=10),
               Column(_("failure"), 5, 16, "end", want=24)]
    # Shown left to right as: verdict, time, URL, id, network, failure (the order a reader scans).
    columns = [columns[0], columns[2], columns[1], *columns[3:]]
    cells: list[tuple[str, ...]] = []
    styles: list[str | None] = []
    for e in entries:
        m = e.measurement()
        verdict = e.verdict.label if e.verdict else "unclassified"
        cells.append((verdict, e.test_start_time[:16].replace("T", " "), e.input, e.measurement_id[:8],
                      f"{e.probe_asn} {e.probe_cc}", m.final_failure or ""))
        styles.append("green" if verdict == "ok" else "red" if "." in verdict else None)
    _print_fitted(console or Console(), None, columns, cells, styles, wide=wide)
    return len(cells)
