"""Load a list into `Target`s for measuring: what `probe run --list` uses.

The list is read with bounded memory (`probe.targets.reader`: at most 4 MiB, 64 KiB per line) and
validated. A problem with the file as a whole (binary, not UTF-8, a wrong header or column count,
over-long lines, CSV syntax) raises one `InputError` naming file:line, with a count of the others:
the rows cannot be trusted, so nothing is measured. A row whose URL cannot be measured
(`javascript:`, no host, ...) is reported through `on_error` as "file:line: what is wrong" and
skipped, and the other rows are measured; a caller without `on_error` gets that row as an
`InputError` too, so no row is ever dropped unseen. Everything else is repaired in memory exactly as
`probe lists lint --fix` would repair it, so the URLs measured are the normal-form ones and each is
measured once. Warnings are ignored here; `probe lists validate` shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from probe.errors import InputError
from probe.i18n import _
from probe.models.target import Target
from probe.targets.legend import Legend, default_legend, parse_categories
from probe.targets.lint import fixed_rows
from probe.targets.problems import FATAL_ON_LOAD, SKIPPED_ON_LOAD, Problem
from probe.targets.urls import normalise_url
from probe.targets.validate import Checked, validate_file


def load_targets(path: Path, *, categories: set[str] | None = None, legend: Legend | None = None,
                 on_error: Callable[[str], None] | None = None) -> list[Target]:
    """The targets in `path` (in list order), optionally only those in `categories` (legend codes).

    Each row skipped for its URL is passed to `on_error` (rows outside `categories` are not
    mentioned: they would not be measured anyway). Raises InputError on a list that cannot be used,
    on a bad URL when there is no `on_error`, and when no target is left to measure.
    """
    legend = legend or default_legend()
    checked = validate_file(path, legend=legend)
    _refuse_unusable(checked, path, skip_rows=on_error is not None)
    if categories is not None and checked.parsed.kind != "csv":
        raise InputError(_("{path} is a plain URL list without categories, so a category filter cannot apply").format(
            path=path), hint=_("drop --category, or use a Citizen Lab CSV list"))
    if categories is not None:
        parse_categories(",".join(sorted(categories)) or ",", legend=legend)  # unknown codes are errors
    unusable = {p.line: p for p in checked.problems if p.code in SKIPPED_ON_LOAD}
    targets = []
    for row in sorted(fixed_rows(checked, legend), key=lambda row: row.line):  # the order written
        target = Target(url=row.url, category_code=row.get(1), category_description=row.get(2),
                        date_added=row.get(3), source=row.get(4), notes=row.get(5))
        if categories is not None and target.category_code not in categories:
            continue
        if row.line in unusable:
            if on_error is not None:
                on_error(f"{unusable[row.line].location}: {unusable[row.line].message}")
            continue
        targets.append(target)
    if not targets:
        which = _(" in categories {codes}").format(codes=", ".join(sorted(categories))) if categories else ""
        raise InputError(_("{path} has no targets{which}").format(path=path, which=which),
                         hint=_("see `probe lists show` for what it holds"))
    return targets


def _refuse_unusable(checked: Checked, path: Path, *, skip_rows: bool) -> None:
    """InputError for the first problem that stops the list being measured (`skip_rows`: bad URLs do not)."""
    codes = FATAL_ON_LOAD if skip_rows else FATAL_ON_LOAD | SKIPPED_ON_LOAD
    fatal: list[Problem] = [p for p in checked.problems if p.code in codes]
    if checked.parsed.fatal and not fatal:
        fatal = [p for p in checked.problems if p.severity == "error"]
    if fatal:
        more = _(" (and {count} more problems)").format(count=len(fatal) - 1) if len(fatal) > 1 else ""
        every = _("`probe lists validate {path}` shows every problem").format(path=path)
        raise InputError(f"{fatal[0].location}: {fatal[0].message}{more}",
                         hint=f"{fatal[0].hint}; {every}" if fatal[0].hint else every)


def parse_url_arg(url: str) -> Target:
    """A target for a URL given on the command line (surrounding whitespace is ignored)."""
    return Target(url=normalise_url(url.strip()), source="command line")
