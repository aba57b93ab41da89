"""Load a list into `Target`s for measuring: what `probe run --list` uses.

The list is read with bounded memory (`probe.targets.reader`: at most 4 MiB, 64 KiB per line) and
validated; a problem that makes it unusable (binary, not UTF-8, wrong header or columns, a bad URL)
raises one `InputError` naming file:line, with a count of the others. Everything else is repaired in
memory exactly as `probe lists lint --fix` would repair it, so the URLs measured are the normal-form
ones and each is measured once. Warnings are ignored here; `probe lists validate` shows them.
"""

from __future__ import annotations

from pathlib import Path

from probe.errors import InputError
from probe.models.target import Target
from probe.targets.legend import Legend, default_legend, parse_categories
from probe.targets.lint import fixed_rows
from probe.targets.problems import FATAL_ON_LOAD
from probe.targets.urls import normalise_url
from probe.targets.validate import validate_file


def load_targets(path: Path, *, categories: set[str] | None = None,
                 legend: Legend | None = None) -> list[Target]:
    """The targets in `path` (in list order), optionally only those in `categories` (legend codes).

    Raises InputError on a list that cannot be used, and when no target is left to measure.
    """
    legend = legend or default_legend()
    checked = validate_file(path, legend=legend)
    fatal = [p for p in checked.problems if p.code in FATAL_ON_LOAD]
    if checked.parsed.fatal and not fatal:
        fatal = [p for p in checked.problems if p.severity == "error"]
    if fatal:
        more = f" (and {len(fatal) - 1} more problems)" if len(fatal) > 1 else ""
        raise InputError(f"{fatal[0].location}: {fatal[0].message}{more}",
                         hint=f"{fatal[0].hint + '; ' if fatal[0].hint else ''}"
                              f"`probe lists validate {path}` shows every problem")
    if categories is not None and checked.parsed.kind != "csv":
        raise InputError(f"{path} is a plain URL list without categories, so a category filter "
                         "cannot apply", hint="drop --category, or use a Citizen Lab CSV list")
    if categories is not None:
        parse_categories(",".join(sorted(categories)) or ",", legend=legend)  # unknown codes are errors
    rows = sorted(fixed_rows(checked, legend), key=lambda row: row.line)  # the order written
    targets = [Target(url=row.url, category_code=row.get(1), category_description=row.get(2),
                      date_added=row.get(3), source=row.get(4), notes=row.get(5)) for row in rows]
    if categories is not None:
        targets = [t for t in targets if t.category_code in categories]
    if not targets:
        which = f" in categories {', '.join(sorted(categories))}" if categories else ""
        raise InputError(f"{path} has no targets{which}", hint="see `probe lists show` for what it holds")
    return targets


def parse_url_arg(url: str) -> Target:
    """A target for a URL given on the command line (surrounding whitespace is ignored)."""
    return Target(url=normalise_url(url.strip()), source="command line")
