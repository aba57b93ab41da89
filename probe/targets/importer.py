"""Import a country's list from a Citizen Lab test-lists checkout (or CSV files) into one of ours.

Sources are directories (a checkout, where the list is `lists/<cc>.csv`, or a folder holding
`<cc>.csv`) or CSV files. Rows are merged into the output list without duplicates (compared after
URL normalisation; rows already in the output win), fixed as `lint --fix` would fix them, and the
output is written sorted like upstream. Source rows that cannot be used (bad URL, unknown category,
bad date, wrong columns) are skipped and reported, never guessed at. Each row keeps its upstream
`source` column (who contributed it: the attribution CC BY-NC-SA asks for), and one line saying what
was imported from where (with the upstream commit, read from a git checkout or a SOURCE.txt) is
appended to `<output>.provenance`; when nothing is new, nothing is written. No network access.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from probe.errors import InputError
from probe.i18n import _
from probe.targets.legend import Legend, default_legend
from probe.targets.lint import fix_fields, refuse_unsafe
from probe.targets.parse import ParsedList, Row
from probe.targets.problems import Problem
from probe.targets.render import render_list, write_atomic
from probe.targets.urls import sort_key, url_key
from probe.targets.validate import Checked, validate, validate_file

_COUNTRY = re.compile(r"[a-z]{2}|global")
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(slots=True)
class ImportResult:
    output: Path
    sources: list[str] = field(default_factory=list)  # where each source file came from
    added: int = 0
    already_listed: int = 0
    skipped: list[Problem] = field(default_factory=list)  # source rows that could not be imported
    provenance: str = ""  # the line appended to <output>.provenance


def find_source_files(sources: Sequence[Path], country: str) -> list[Path]:
    """The CSV file each source stands for: a file as given, or <dir>/lists/<cc>.csv, <dir>/<cc>.csv."""
    files = []
    for source in sources:
        if source.is_file():
            files.append(source)
            continue
        if not source.is_dir():
            raise InputError(_("{path}: no such file or directory").format(path=source),
                             hint=_("give a Citizen Lab test-lists checkout or CSV files"))
        candidates = [source / "lists" / f"{country}.csv", source / f"{country}.csv"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise InputError(_("no {file} in {path} or {lists}").format(file=f"{country}.csv", path=source,
                                                                          lists=source / "lists"),
                             hint=_("check --country, or give the CSV file itself"))
        files.append(found)
    return files


def import_lists(sources: Sequence[Path], *, country: str, output: Path, legend: Legend | None = None,
                 today: dt.date | None = None) -> ImportResult:
    country = country.strip().lower()
    if not _COUNTRY.fullmatch(country):
        raise InputError(_("country {country} is not a two-letter country code").format(country=repr(country)),
                         hint=_("use an ISO 3166-1 alpha-2 code such as kz, or 'global'"))
    legend = legend or default_legend()
    files = find_source_files(sources, country)
    target = _open_output(output, legend)
    rows = list(target.parsed.rows)
    keys = {url_key(url) for url in target.normalised if url is not None}
    result = ImportResult(output)
    for path in files:
        result.sources.append(describe_source(path))
        _merge(validate_file(path, legend=legend), rows, keys, result, legend)
    if not result.added:
        return result  # nothing new: the list and its provenance stay as they are
    rows.sort(key=lambda row: sort_key(row.url))
    write_atomic(output, render_list("csv", rows))
    day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    result.provenance = (f"{day} imported {result.added} new rows ({result.already_listed} already "
                         f"listed, {len(result.skipped)} skipped) from {'; '.join(result.sources)}")
    _append_provenance(output, result.provenance)
    return result


def _open_output(output: Path, legend: Legend) -> Checked:
    if not output.exists():
        return validate(ParsedList(str(output), "csv"), legend=legend)
    checked = validate_file(output, legend=legend)
    refuse_unsafe(checked)
    if checked.parsed.kind != "csv" or not checked.parsed.has_header:
        raise InputError(_("{path} is not a Citizen Lab CSV with a header").format(path=output),
                         hint=_("import into a .csv list (run `probe lists lint --fix` on it first)"))
    return checked


def _merge(source: Checked, rows: list[Row], keys: set[str], result: ImportResult, legend: Legend) -> None:
    refuse_unsafe(source)
    if source.parsed.kind != "csv" or source.parsed.fatal:
        raise InputError(_("{path} is not a Citizen Lab CSV list").format(path=source.parsed.path),
                         hint=_("its first line must be url,category_code,category_description,..."))
    unusable = {p.line: p for p in source.problems if p.severity == "error" and not p.fixable}
    for row, url in zip(source.parsed.rows, source.normalised, strict=True):
        if row.line in unusable:
            result.skipped.append(unusable[row.line])
            continue
        if url is None:
            continue
        if url_key(url) in keys:
            result.already_listed += 1
            continue
        keys.add(url_key(url))
        rows.append(Row(row.line, fix_fields(row.fields, url, legend)))
        result.added += 1


def describe_source(path: Path) -> str:
    """'<origin> <path in repo> at commit <sha>' from a git checkout or a SOURCE.txt; else the path."""
    resolved = path.resolve()
    for directory in list(resolved.parents)[:4]:
        git = directory / ".git"
        if git.is_dir():
            origin = _git_origin(git) or directory.name
            commit = _git_head(git)
            where = resolved.relative_to(directory).as_posix()
            return f"{origin} {where}" + (f" at commit {commit}" if commit else "")
    notes = resolved.parent / "SOURCE.txt"
    if notes.is_file():
        text = notes.read_text(encoding="utf-8", errors="replace")
        source = re.search(r"^Source:\s*(\S+)", text, re.MULTILINE)
        sha = re.search(r"^Commit:\s*([0-9a-f]{40})", text, re.MULTILINE)
        if source:
            at = f" at commit {sha.group(1)}" if sha else ""
            return f"{source.group(1)} lists/{path.name}{at}"
    return str(path)


def _git_head(git: Path) -> str | None:
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if _COMMIT.fullmatch(head):
            return head
        ref = head.removeprefix("ref: ").strip()
        loose = git / ref
        if loose.is_file():
            return loose.read_text(encoding="utf-8").strip()
        packed = git / "packed-refs"
        for line in packed.read_text(encoding="utf-8").splitlines() if packed.is_file() else []:
            sha, _space, name = line.partition(" ")
            if name == ref and _COMMIT.fullmatch(sha):
                return sha
    except OSError:
        return None
    return None


def _git_origin(git: Path) -> str | None:
    try:
        config = (git / "config").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r'\[remote "origin"\][^\[]*?url\s*=\s*(\S+)', config)
    return re.sub(r"//[^/@]*@", "//", match.group(1)) if match else None  # never record credentials


def _append_provenance(output: Path, line: str) -> None:
    path = output.with_name(output.name + ".provenance")
    try:
        with path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
    except OSError as exc:
        raise InputError(_("cannot write {path}: {problem}").format(path=path, problem=exc.strerror),
                         hint=_("check the directory is writable")) from exc
