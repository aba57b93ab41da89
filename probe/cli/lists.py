"""`probe lists …`: validate, lint, show, add, remove and import target lists.

Thin: every decision is made in `probe.targets`; this module parses arguments and prints. A list
argument is a path or a shipped list name (`kz`, `article15`; see `probe lists shipped`). Problems
print one per line as `file:line: severity: what is wrong (fix: how)`. Commands that find errors exit
with status 1; unusable input raises `InputError`, which the CLI root prints as one line.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from probe.errors import InputError
from probe.i18n import N_, _

if TYPE_CHECKING:
    from probe.targets.legend import Legend
    from probe.targets.problems import Problem

# probe.targets (and, through it, probe.models and pydantic) is imported when a command runs, not when
# the CLI is built: `probe lists --help` and `probe lists COMMAND --help` read only the options below.


@click.group("lists")
def lists() -> None:
    """Check and edit target lists (Citizen Lab CSV format).

    \b
    Example:
      probe lists validate targetlists/*.csv
      probe lists add targetlists/article15.csv https://example.org/ --category PUBH --notes "why"
    """


def _legend(path: Path | None) -> Legend:
    from probe.targets.legend import default_legend, load_legend

    return load_legend(path) if path else default_legend()


def _edit_path(arg: str) -> Path:
    """A list to edit: an existing file, a new .csv/.txt path, or a shipped list name."""
    from probe.targets.registry import resolve_list

    path = Path(arg)
    if path.exists() or path.suffix.lower() in (".csv", ".txt"):
        return path
    return resolve_list(arg)


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem))


def _counts(problems: list[Problem]) -> tuple[int, int]:
    errors = sum(p.severity == "error" for p in problems)
    return errors, len(problems) - errors


def _plural(count: int, word: str, plural: str = "") -> str:
    """'1 row' / '3 rows' in English; '<plural noun>: 3' in a translation (right for any number there)."""
    many = plural or word + "s"
    if _(many) == many:
        return f"{count} {word if count == 1 else many}"
    return _("{things}: {count}").format(things=_(many), count=count)


legend_option = click.option("--legend", "legend_path", type=click.Path(path_type=Path, dir_okay=False),
                             help="Category legend CSV to check against (default: the shipped one).")


@lists.command("validate")
@click.argument("files", nargs=-1, required=True)
@click.option("--strict", is_flag=True, help="Treat warnings as errors (for CI on our own lists).")
@legend_option
def validate_cmd(files: tuple[str, ...], strict: bool, legend_path: Path | None) -> None:
    """Check lists and print every problem as file:line; exit 1 on errors.

    Errors: bad or non-http(s) URLs, duplicates after normalisation, unknown category codes, bad
    dates, wrong columns, encoding, BOM, CRLF. Warnings: URLs not in normal form, an http URL whose
    https twin is listed, a host under two categories, a URL in more than one of the FILES.

    \b
    Example:
      probe lists validate targetlists/kz.csv targetlists/article15.csv
      probe lists validate --strict kz article15
    """
    from probe.targets.registry import resolve_list
    from probe.targets.validate import check_across, validate_file

    legend = _legend(legend_path)
    checked = [validate_file(resolve_list(f), name=f, legend=legend) for f in files]
    across = check_across(checked) if len(checked) > 1 else []
    total_errors = total_warnings = 0
    for item in checked:
        mine = [p for p in across if p.path == item.parsed.path]
        problems = sorted(item.problems + mine, key=lambda p: p.line)
        _print_problems(problems)
        errors, warnings = _counts(problems)
        total_errors, total_warnings = total_errors + errors, total_warnings + warnings
        click.echo(f"{item.parsed.path}: {_plural(item.parsed.line_count(), 'row', N_('rows'))}, "
                   f"{_plural(errors, 'error', N_('errors'))}, {_plural(warnings, 'warning', N_('warnings'))}",
                   err=True)
    if total_errors or (strict and total_warnings):
        sys.exit(1)  # not ctx.exit: the root runs click with standalone_mode=False


@lists.command("lint")
@click.argument("files", nargs=-1, required=True)
@click.option("--fix", is_flag=True, help="Rewrite the files in normal form (atomically).")
@legend_option
def lint_cmd(files: tuple[str, ...], fix: bool, legend_path: Path | None) -> None:
    """Show what --fix would change; with --fix, normalise the files in place.

    --fix writes URLs in normal form, fixes category descriptions, old codes and loose dates,
    removes duplicate rows (keeping the first), BOM and CRLF, and sorts rows like Citizen Lab does.
    It keeps notes, sources and plain-list comments, and never drops a row that is not a duplicate.
    Exit 1 if (without --fix) anything would change, or if errors remain.

    \b
    Example:
      probe lists lint targetlists/kz.csv
      probe lists lint --fix targetlists/kz.csv
    """
    from probe.targets.lint import lint_file

    legend = _legend(legend_path)
    failed = False
    for name in files:
        result = lint_file(_edit_path(name), name=name, legend=legend, write=fix)
        errors, _warnings = _counts(result.remaining)
        also = f" ({'; '.join(result.layout)})" if result.layout else ""
        if fix:
            state = _("rewritten") if result.changed else _("already in normal form")
            click.echo(_("{name}: {state}; {fixed} fixed{also}").format(
                name=name, state=state, fixed=_plural(len(result.fixed), "problem", N_("problems")), also=also),
                err=True)
            _print_problems(result.remaining)
        else:
            _print_problems(result.fixed)
            if result.changed:
                click.echo(_("{name}: would be rewritten{also}; run `probe lists lint --fix {name}`").format(
                    name=name, also=also), err=True)
        failed = failed or bool(errors) or (not fix and result.changed)
    if failed:
        sys.exit(1)  # not ctx.exit: the root runs click with standalone_mode=False


@lists.command("show")
@click.argument("file")
@click.option("--category", "category", metavar="CODES", help="Only these categories, e.g. LGBT,HUMR.")
@click.option("--counts", is_flag=True, help="Only the counts per category.")
def show_cmd(file: str, category: str | None, counts: bool) -> None:
    """Print a list as a table, then the number of URLs per category.

    \b
    Example:
      probe lists show kz --category LGBT,HUMR
      probe lists show targetlists/article15.csv --counts
    """
    from probe.targets.legend import default_legend, parse_categories
    from probe.targets.parse import parse_file
    from probe.targets.registry import resolve_list

    parsed = parse_file(resolve_list(file), name=file)
    if parsed.fatal:
        raise InputError(_("cannot show {file}: {problem}").format(file=file, problem=parsed.problems[-1]),
                         hint=_("run `probe lists validate {file}`").format(file=file))
    wanted = parse_categories(category) if category else None
    rows = [r for r in parsed.rows if wanted is None or r.get(1).strip() in wanted]
    if not counts:
        table = [(_("LINE"), "URL", _("CATEGORY"), _("DATE"), _("SOURCE"), _("NOTES"))]
        table += [(str(r.line), r.url, r.get(1), r.get(3), r.get(4), r.get(5)) for r in rows]
        for line in _format_table(table, limits=(6, 60, 8, 10, 20, 50)):
            click.echo(line)
        click.echo("")
    legend = default_legend()
    per_category = Counter(r.get(1).strip() or "-" for r in rows)
    for code, count in sorted(per_category.items(), key=lambda item: (-item[1], item[0])):
        name = legend.description(code) if code in legend else _("(not in the legend)")
        click.echo(f"{code:<8}{count:>6}  {name}")
    click.echo(_("{urls} in {categories}").format(urls=_plural(len(rows), "URL", N_("URLs")),
                                                   categories=_plural(len(per_category), "category",
                                                                      N_("categories"))))


def _format_table(table: Sequence[Sequence[str]], *, limits: tuple[int, ...]) -> list[str]:
    clipped = [tuple(c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(row, limits, strict=True))
               for row in table]
    widths = [max(len(row[i]) for row in clipped) for i in range(len(limits))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in clipped]


@lists.command("add")
@click.argument("file")
@click.argument("url")
@click.option("--category", "category", metavar="CODE", help="Category code from the legend, e.g. PUBH.")
@click.option("--notes", default="", help="Why this URL is listed.")
@click.option("--source", default="", help="Who proposed it (a person or organisation).")
@click.option("--date", "date_added", default="", metavar="YYYY-MM-DD", help="Date added (default: today).")
def add_cmd(file: str, url: str, category: str | None, notes: str, source: str, date_added: str) -> None:
    """Add a URL to a list (created if missing); refuses duplicates.

    The URL is normalised first, the description is taken from the category legend, and the row
    goes where sorting puts it.

    \b
    Example:
      probe lists add targetlists/article15.csv https://www.unaids.org/ --category PUBH \\
          --notes "HIV information (ICESCR art. 15: benefits of science)"
    """
    from probe.targets.edit import NewEntry, add_target

    entry = NewEntry(url=url, category=category or "", notes=notes, source=source, date_added=date_added)
    row = add_target(_edit_path(file), entry, today=dt.datetime.now(dt.UTC).date())
    click.echo(_("added {url} ({category}) to {file}").format(url=row.url, category=row.get(1) or _("no category"),
                                                              file=file))
    click.echo(_("next: probe lists validate {file}").format(file=file), err=True)


@lists.command("remove")
@click.argument("file")
@click.argument("url")
def remove_cmd(file: str, url: str) -> None:
    """Remove a URL (and any duplicates of it after normalisation) from a list.

    \b
    Example:
      probe lists remove targetlists/article15.csv https://www.unaids.org/
    """
    from probe.targets.edit import remove_target

    for row in remove_target(_edit_path(file), url):
        click.echo(_("removed {url} (line {line}) from {file}").format(url=row.url, line=row.line, file=file))


@lists.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--country", required=True, metavar="CC", help="Two-letter country code, e.g. kz.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="List to merge into (default: targetlists/CC.csv if that folder exists, else CC.csv).")
def import_cmd(sources: tuple[Path, ...], country: str, output: Path | None) -> None:
    """Merge a country's Citizen Lab list into one of ours, without duplicates.

    SOURCES are Citizen Lab test-lists checkouts (lists/CC.csv is read) or CSV files. Rows that
    cannot be used are skipped and listed; what was imported, from where and at which upstream
    commit, is appended to OUTPUT.provenance.

    \b
    Example:
      probe lists import ~/src/test-lists --country kz
      probe lists import kz.csv --country kz -o targetlists/kz.csv
    """
    from probe.targets.importer import import_lists

    cc = country.strip().lower()
    if output is None:
        output = Path("targetlists") / f"{cc}.csv" if Path("targetlists").is_dir() else Path(f"{cc}.csv")
    result = import_lists(list(sources), country=cc, output=output)
    _print_problems(result.skipped)
    click.echo(_("{output}: {added}, {listed} already listed, {skipped} skipped").format(
        output=output, added=_plural(result.added, "new row", N_("new rows")), listed=result.already_listed,
        skipped=len(result.skipped)))
    if result.provenance:
        click.echo(_("recorded in {file}: {provenance}").format(file=f"{output}.provenance",
                                                               provenance=result.provenance), err=True)


@lists.command("shipped")
def shipped_cmd() -> None:
    """List the lists shipped with the probe, by the name `probe run --list NAME` takes.

    \b
    Example:
      probe lists shipped
    """
    from probe.targets.parse import parse_file
    from probe.targets.registry import shipped_lists

    for name, path in shipped_lists().items():
        parsed = parse_file(path)
        click.echo(f"{name:<12}{_plural(parsed.line_count(), 'URL', N_('URLs')):>10}  {path}")
