"""Check a parsed list: every row's values, then the list as a whole. Collects every problem.

Row checks (Citizen Lab CSV): the URL is an http(s) URL with a host and is in normal form
(`probe.targets.urls`); the category code is in the legend (old codes are named with their
replacement); the description matches the legend; date_added is a real YYYY-MM-DD date; no field
holds control characters or stray whitespace. List checks: duplicates after normalisation are
errors; an http URL whose https twin is also listed, and one host listed under two categories, are
warnings. Plain lists get the URL and duplicate checks only.

Nothing here reads files or changes rows; see `probe.targets.parse` and `probe.targets.lint`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from probe.errors import InputError
from probe.i18n import _
from probe.targets.legend import Legend, default_legend
from probe.targets.parse import HEADER, ParsedList, Row, parse_file
from probe.targets.problems import Problem, error, sort_problems, warning
from probe.targets.urls import host_of, https_twin, normalise_url, url_key

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LOOSE_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_FIELD_NAMES = dict(enumerate(HEADER))


@dataclass(slots=True)
class Checked:
    """A parsed list with its problems and each row's normal-form URL (None where it is invalid)."""

    parsed: ParsedList
    problems: list[Problem]
    normalised: list[str | None]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def validate_file(path: Path, *, name: str | None = None, legend: Legend | None = None) -> Checked:
    return validate(parse_file(path, name=name), legend=legend)


def validate(parsed: ParsedList, *, legend: Legend | None = None) -> Checked:
    legend = legend or default_legend()
    problems = list(parsed.problems)
    normalised: list[str | None] = []
    for row in parsed.rows:
        url, row_problems = check_url(row, parsed.path)
        normalised.append(url)
        problems += row_problems
        if parsed.kind == "csv" and len(row.fields) == len(HEADER):
            problems += check_fields(row, parsed.path, legend)
    problems += check_duplicates(parsed.rows, normalised, parsed.path)
    if parsed.kind == "csv":
        problems += check_hosts(parsed.rows, normalised, parsed.path, legend)
    return Checked(parsed, sort_problems(problems), normalised)


def check_url(row: Row, path: str) -> tuple[str | None, list[Problem]]:
    raw = row.url
    problems: list[Problem] = []
    if raw != raw.strip():
        problems.append(error(path, row.line, "whitespace", _("URL {url} has spaces around it").format(url=repr(raw)),
                              _lint_hint(path), fixable=True))
    try:
        url = normalise_url(raw.strip())
    except InputError as exc:
        return None, [*problems, error(path, row.line, "url", exc.message, exc.hint or "")]
    if url != raw.strip():
        problems.append(warning(path, row.line, "url-form", _(
            "URL {url} is not in normal form; it is measured as {normal}").format(url=raw.strip(), normal=url),
            _lint_hint(path), fixable=True))
    return url, problems


def fixed_category(code: str, legend: Legend) -> str:
    """The legend code `code` stands for: itself, its upper-case form, or the code replacing it."""
    code = code.strip()
    if code in legend:
        return code
    upper = code.upper()
    return upper if upper in legend else legend.legacy.get(upper, code)


def fixed_date(value: str) -> str:
    """`value` as YYYY-MM-DD if it is a recognisable date (2014-4-15, 2014/04/15), else unchanged."""
    match = _LOOSE_DATE.fullmatch(value.strip())
    if not match:
        return value
    try:
        return dt.date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        return value


def check_fields(row: Row, path: str, legend: Legend) -> list[Problem]:
    problems = _check_text(row, path)
    problems += _check_category(row, path, legend)
    date = row.get(3)
    if not date.strip():
        problems.append(error(path, row.line, "date", _("date_added is empty"),
                              _("write the date the URL was added, as YYYY-MM-DD")))
    elif not _is_iso_date(date):
        fixed = fixed_date(date)
        problems.append(error(path, row.line, "date", _("date_added {date} is not a YYYY-MM-DD date").format(
                              date=repr(date)), _lint_hint(path) if fixed != date else _("write it as YYYY-MM-DD"),
                              fixable=fixed != date))
    return problems


def _is_iso_date(value: str) -> bool:
    try:
        return dt.date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _check_text(row: Row, path: str) -> list[Problem]:
    problems = []
    for index in range(1, len(HEADER)):
        value = row.get(index)
        if _CONTROL.search(value):
            problems.append(error(path, row.line, "control-char", _(
                "{field} contains a tab, line break or other control character").format(field=_FIELD_NAMES[index]),
                _lint_hint(path), fixable=True))
        elif index <= 3 and value != value.strip():
            problems.append(error(path, row.line, "whitespace", _("{field} {value} has spaces around it").format(
                field=_FIELD_NAMES[index], value=repr(value)), _lint_hint(path), fixable=True))
    return problems


def _check_category(row: Row, path: str, legend: Legend) -> list[Problem]:
    code, description = row.get(1).strip(), row.get(2)
    if not code:
        return [error(path, row.line, "category-missing", _("category_code is empty"),
                      _("add one of: {codes}").format(codes=", ".join(legend.codes())))]
    fixed = fixed_category(code, legend)
    if fixed not in legend:
        return [error(path, row.line, "category-unknown", _("unknown category code {code}").format(code=repr(code)),
                      _("use one of: {codes}").format(codes=", ".join(legend.codes())))]
    problems = []
    if fixed != code:
        legacy = code.upper() in legend.legacy
        what = (_("category code {code} is an old code, replaced by {fixed}") if legacy
                else _("category code {code} is not in capitals"))
        problems.append(error(path, row.line, "category-legacy", what.format(code=repr(code), fixed=fixed),
                              _lint_hint(path), fixable=True))
    expected = legend.description(fixed)
    if description.strip() != expected:
        problems.append(error(path, row.line, "category-description", _(
            "category_description {description} does not match {code}: expected {expected}").format(
                description=repr(description), code=fixed, expected=repr(expected)),
            _lint_hint(path), fixable=True))
    return problems


def check_duplicates(rows: Sequence[Row], normalised: Sequence[str | None], path: str) -> list[Problem]:
    problems = []
    first: dict[str, int] = {}
    for row, url in zip(rows, normalised, strict=True):
        if url is None:
            continue
        key = url_key(url)
        if key in first:
            problems.append(error(path, row.line, "duplicate", _(
                "duplicate of line {line}: both measure {url}").format(line=first[key], url=url), _(
                "delete this line; `probe lists lint --fix {file}` keeps the first").format(file=path),
                fixable=True))
        else:
            first[key] = row.line
    for row, url in zip(rows, normalised, strict=True):
        twin = https_twin(url_key(url)) if url else None
        if twin is not None and twin in first:
            problems.append(warning(path, row.line, "http-https-twin", _(
                "{url} is also listed over https (line {line})").format(url=url, line=first[twin]),
                _("keep both only to compare plain HTTP with HTTPS; otherwise delete the http:// line")))
    return problems


def check_hosts(rows: Sequence[Row], normalised: Sequence[str | None], path: str,
                legend: Legend) -> list[Problem]:
    problems = []
    seen: dict[str, dict[str, int]] = {}  # host -> category -> first line
    for row, url in zip(rows, normalised, strict=True):
        code = fixed_category(row.get(1), legend)
        if url is None or not code:
            continue
        categories = seen.setdefault(host_of(url), {})
        if categories and code not in categories:
            other, line = next(iter(categories.items()))
            problems.append(warning(path, row.line, "host-categories", _(
                "host {host} is listed as {code} here but as {other} on line {line}").format(
                    host=host_of(url), code=code, other=other, line=line),
                _("give one host one category unless its pages really differ")))
        categories.setdefault(code, row.line)
    return problems


def check_across(checked: Iterable[Checked]) -> list[Problem]:
    """Warnings for a URL listed in more than one of the given files (it would be measured twice)."""
    problems = []
    first: dict[str, str] = {}
    for item in checked:
        local: set[str] = set()
        for row, url in zip(item.parsed.rows, item.normalised, strict=True):
            key = url_key(url) if url else None
            if key is None or key in local:
                continue
            local.add(key)
            if key in first:
                problems.append(warning(item.parsed.path, row.line, "duplicate", _(
                    "{url} is also listed in {where}").format(url=url, where=first[key]),
                    _("delete it from one of the lists if they are measured together")))
            else:
                first[key] = f"{item.parsed.path}:{row.line}"
    return problems


def _lint_hint(path: str) -> str:
    return _("run `probe lists lint --fix {file}`").format(file=path)
