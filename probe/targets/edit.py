"""Add one URL to a list or remove one, rewriting the file atomically.

`add_target` normalises the URL, refuses a duplicate (after normalisation), checks the category
against the legend and fills the description and date; it creates the list (with its header) if the
file does not exist. The new row goes in sorted position if the list is sorted, else at the end.
`remove_target` removes every row whose URL is the same after normalisation. Other rows are kept
exactly as written; the file comes out as UTF-8 with LF line ends. Neither touches a file that
cannot be read completely (see `probe.targets.lint.refuse_unsafe`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from probe.errors import InputError
from probe.targets.legend import Legend, default_legend
from probe.targets.lint import refuse_unsafe
from probe.targets.parse import ParsedList, Row
from probe.targets.render import render_list, write_atomic
from probe.targets.urls import normalise_url, sort_key, url_key
from probe.targets.validate import Checked, fixed_category, validate, validate_file

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class NewEntry:
    url: str
    category: str = ""
    notes: str = ""
    source: str = ""
    date_added: str = ""  # empty: today (UTC)


def add_target(path: Path, entry: NewEntry, *, legend: Legend | None = None,
               today: dt.date | None = None) -> Row:
    """Add `entry` to the list at `path` and return the row written."""
    legend = legend or default_legend()
    checked = _open_for_edit(path, legend)
    url = normalise_url(entry.url.strip())
    for row, existing in zip(checked.parsed.rows, checked.normalised, strict=True):
        if existing is not None and url_key(existing) == url_key(url):
            raise InputError(f"{path}:{row.line} already lists {existing}",
                             hint=f"see it with `probe lists show {path}`")
    row = _new_row(checked.parsed, url, entry, legend, today or dt.datetime.now(dt.UTC).date())
    rows = list(checked.parsed.rows)
    keys = [sort_key(r.url) for r in rows]
    rows.append(row)
    if checked.parsed.kind == "csv" and keys == sorted(keys):
        rows.sort(key=lambda r: sort_key(r.url))
    write_atomic(path, render_list(checked.parsed.kind, rows, checked.parsed.comments))
    return row


def _new_row(parsed: ParsedList, url: str, entry: NewEntry, legend: Legend, today: dt.date) -> Row:
    for label, text in (("notes", entry.notes), ("source", entry.source)):
        if _CONTROL.search(text):
            raise InputError(f"{label} contains a line break, tab or control character",
                             hint=f"write the {label} on one line")
    line = max([r.line for r in parsed.rows] + [n for n, _ in parsed.comments], default=0) + 1
    if parsed.kind == "plain":
        return Row(line, [url, "", "", "", "", entry.notes.strip()])
    if not entry.category:
        raise InputError("a Citizen Lab list needs a category for every URL",
                         hint=f"add --category CODE, one of: {', '.join(legend.codes())}")
    code = fixed_category(entry.category, legend)
    if code not in legend:
        raise InputError(f"unknown category code {entry.category!r}",
                         hint=f"use one of: {', '.join(legend.codes())}")
    date = entry.date_added.strip() or today.isoformat()
    try:
        dt.date.fromisoformat(date)
    except ValueError as exc:
        raise InputError(f"date {date!r} is not a YYYY-MM-DD date", hint="write e.g. 2026-07-01") from exc
    return Row(line, [url, code, legend.description(code), date, entry.source.strip(), entry.notes.strip()])


def remove_target(path: Path, url: str, *, legend: Legend | None = None) -> list[Row]:
    """Remove every row of `path` listing `url` (after normalisation); return the removed rows."""
    legend = legend or default_legend()
    if not path.is_file():
        raise InputError(f"{path}: no such file", hint="check the path")
    checked = _open_for_edit(path, legend)
    key = url_key(normalise_url(url.strip()))
    keep: list[Row] = []
    removed: list[Row] = []
    for row, existing in zip(checked.parsed.rows, checked.normalised, strict=True):
        (removed if existing is not None and url_key(existing) == key else keep).append(row)
    if not removed:
        raise InputError(f"{path} does not list {url.strip()}",
                         hint=f"see what it lists with `probe lists show {path}`")
    write_atomic(path, render_list(checked.parsed.kind, keep, checked.parsed.comments))
    return removed


def _open_for_edit(path: Path, legend: Legend) -> Checked:
    if path.exists():
        checked = validate_file(path, legend=legend)
        refuse_unsafe(checked)
        if not checked.parsed.has_header:
            raise InputError(f"{path} has no header line", hint=f"run `probe lists lint --fix {path}` first")
        return checked
    return validate(ParsedList(str(path), "plain" if path.suffix.lower() == ".txt" else "csv"), legend=legend)
