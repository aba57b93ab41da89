"""`lint --fix`: rewrite a list in normal form without losing anything a maintainer wrote.

What it changes: URL normal form (`probe.targets.urls`), surrounding whitespace in URL, code,
description and date; old or lower-case category codes become the legend's code and the description
the legend's; loosely written dates (2014-4-15, 2014/04/15) become YYYY-MM-DD; control characters
in notes and source become spaces; a missing header is added; BOM and CRLF are dropped; duplicate
rows are removed (the first is kept); CSV rows are sorted as upstream sorts them (by the URL after
"//", then scheme). Plain lists keep their order, comments and blank lines.

What it never does: drop a row that is not a duplicate, change notes or source text (except control
characters), invent a missing date or category, or touch a file it cannot read completely (binary,
not UTF-8, over-long lines, CSV syntax errors, unknown header): it refuses with an `InputError`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from probe.errors import InputError
from probe.i18n import _
from probe.targets.legend import Legend, default_legend
from probe.targets.parse import HEADER, Kind, Row, parse_stream
from probe.targets.problems import Problem
from probe.targets.render import render_list, write_atomic
from probe.targets.urls import sort_key, url_key
from probe.targets.validate import Checked, fixed_category, fixed_date, validate, validate_file

_CONTROL_RUN = re.compile(r"[\x00-\x1f\x7f]+")
# Problems after which the file's content is not fully known, so rewriting it could lose data.
UNSAFE_TO_REWRITE = frozenset({"too-large", "binary", "utf16", "encoding", "line-too-long", "csv-syntax"})


@dataclass(slots=True)
class LintResult:
    path: str
    text: str  # the file as lint --fix writes it
    changed: bool
    fixed: list[Problem]  # fixable problems found in the file before fixing
    remaining: list[Problem]  # problems left in `text`
    layout: list[str]  # changes that are not problems: "rows sorted like upstream", "final newline added"


def lint_file(path: Path, *, name: str | None = None, legend: Legend | None = None,
              write: bool = False) -> LintResult:
    """Lint `path`; with write=True replace it atomically when anything changes."""
    legend = legend or default_legend()
    checked = validate_file(path, name=name, legend=legend)
    result = lint_checked(checked, legend=legend, original=_read_original(path))
    if write and result.changed:
        write_atomic(path, result.text)
    return result


def _read_original(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(_("cannot read {path}: {problem}").format(path=path, problem=exc.strerror)) from exc


def lint_text(text: str, *, name: str = "list.csv", legend: Legend | None = None) -> LintResult:
    """Lint list content held in memory (used by tests and by `lint_file`)."""
    legend = legend or default_legend()
    data = text.encode("utf-8")
    kind: Kind | None = "csv" if name.lower().endswith(".csv") else None
    checked = validate(parse_stream(io.BytesIO(data), name, kind=kind), legend=legend)
    return lint_checked(checked, legend=legend, original=data)


def lint_checked(checked: Checked, *, legend: Legend, original: bytes) -> LintResult:
    parsed = checked.parsed
    refuse_unsafe(checked)
    rows = fixed_rows(checked, legend)
    text = render_list(parsed.kind, rows, parsed.comments)
    after = validate(parse_stream(io.BytesIO(text.encode("utf-8")), parsed.path, kind=parsed.kind),
                     legend=legend)
    fixed = [p for p in checked.problems if p.fixable]
    layout = []
    if [row.line for row in rows] != sorted(row.line for row in rows):
        layout.append("rows sorted like upstream")
    if original and not original.endswith(b"\n"):
        layout.append("final newline added")
    return LintResult(parsed.path, text, text.encode("utf-8") != original, fixed, after.problems, layout)


def refuse_unsafe(checked: Checked) -> None:
    unsafe = [p for p in checked.problems if p.code in UNSAFE_TO_REWRITE]
    if checked.parsed.fatal and not unsafe:
        unsafe = [p for p in checked.problems if p.code == "header"]
    if unsafe:
        raise InputError(_("cannot rewrite {path} safely: {problem}").format(path=checked.parsed.path,
                                                                              problem=unsafe[0]),
                         hint=_("fix that by hand first (see `probe lists validate`), then run lint again"))


def fixed_rows(checked: Checked, legend: Legend) -> list[Row]:
    """The rows as lint --fix writes them: fixed, without duplicates, sorted if CSV."""
    seen: set[str] = set()
    rows = []
    for row, url in zip(checked.parsed.rows, checked.normalised, strict=True):
        if url is not None:
            if url_key(url) in seen:
                continue
            seen.add(url_key(url))
        rows.append(Row(row.line, fix_fields(row.fields, url, legend)))
    if checked.parsed.kind == "csv":
        rows.sort(key=lambda row: sort_key(row.url))
    return rows


def fix_fields(fields: list[str], url: str | None, legend: Legend) -> list[str]:
    """One row's fields as lint --fix writes them; rows with the wrong column count only get their URL."""
    fixed = list(fields)
    if fixed:
        fixed[0] = url if url is not None else fixed[0]
    if len(fixed) != len(HEADER):
        return fixed
    code = fixed_category(fixed[1], legend)
    fixed[1] = code
    fixed[2] = legend.description(code) if code in legend else fixed[2].strip()
    fixed[3] = fixed_date(fixed[3]).strip()
    for index in (2, 4, 5):
        if _CONTROL_RUN.search(fixed[index]):
            fixed[index] = _CONTROL_RUN.sub(" ", fixed[index]).strip()
    return fixed
