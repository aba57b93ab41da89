"""Parse a list file into rows: a Citizen Lab CSV, or a plain file with one URL per line.

Citizen Lab format: the header `url,category_code,category_description,date_added,source,notes`,
then one row per URL (RFC 4180 quoting, UTF-8, LF line ends). The plain format is one URL per line;
blank lines and lines starting with '#' are comments, and text after " #" on a URL line is its note.
A file is CSV if its name ends in .csv or its first line starts with "url,".

Parsing keeps every row exactly as written (fields verbatim, with the line it starts on) and reports
only structural problems: file-level ones from `LineReader`, a wrong header, blank lines, wrong
column counts, CSV syntax errors. Whether the values are right is `probe.targets.validate`'s job.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from probe.errors import InputError
from probe.i18n import _
from probe.targets.problems import Problem, error
from probe.targets.reader import MAX_FILE_BYTES, LineReader

HEADER = ("url", "category_code", "category_description", "date_added", "source", "notes")
HEADER_LINE = ",".join(HEADER)
Kind = Literal["csv", "plain"]


@dataclass(slots=True)
class Row:
    """One list entry as written. `fields` has 6 items for a well-formed CSV row."""

    line: int
    fields: list[str]

    @property
    def url(self) -> str:
        return self.fields[0] if self.fields else ""

    def get(self, index: int) -> str:
        return self.fields[index] if index < len(self.fields) else ""


@dataclass(slots=True)
class ParsedList:
    path: str
    kind: Kind
    rows: list[Row] = field(default_factory=list)
    # plain lists only: comment and blank lines, kept in place, as (line number, text)
    comments: list[tuple[int, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    fatal: bool = False  # reading stopped early or the header is wrong: rows may be incomplete
    has_header: bool = True
    normal_layout: bool = True  # UTF-8 without BOM, LF line ends, final newline

    def line_count(self) -> int:
        return len(self.rows)


def parse_file(path: Path, *, name: str | None = None, max_file_bytes: int = MAX_FILE_BYTES) -> ParsedList:
    """Parse `path`; InputError only if it cannot be opened at all (missing, a directory, no access)."""
    label = name or str(path)
    try:
        with path.open("rb") as stream:
            size = path.stat().st_size
            if size > max_file_bytes:
                return _too_large(label, size, max_file_bytes)
            return parse_stream(stream, label, kind=_kind_from_name(path), max_file_bytes=max_file_bytes)
    except FileNotFoundError as exc:
        raise InputError(_("{file}: no such file").format(file=label),
                         hint=_("check the path, or use a shipped list name (see `probe lists shipped`)")) from exc
    except IsADirectoryError as exc:
        raise InputError(_("{file} is a directory, not a list file").format(file=label),
                         hint=_("give a .csv file")) from exc
    except PermissionError as exc:
        raise InputError(_("{file}: permission denied").format(file=label),
                         hint=_("check the file's permissions")) from exc


def _too_large(label: str, size: int, limit: int) -> ParsedList:
    parsed = ParsedList(label, "csv", fatal=True)
    parsed.problems.append(error(label, 0, "too-large", _("file is {size} MB; lists over {limit} MiB are "
                                                          "refused").format(size=f"{size / 1e6:.1f}",
                                                                            limit=limit // (1024 * 1024)),
                                 _("split it into several smaller lists")))
    return parsed


def _kind_from_name(path: Path) -> Kind | None:
    return "csv" if path.suffix.lower() == ".csv" else None


def parse_stream(stream: BinaryIO, name: str, *, kind: Kind | None = None,
                 max_file_bytes: int = MAX_FILE_BYTES) -> ParsedList:
    reader = LineReader(stream, name, max_file_bytes=max_file_bytes)
    lines = iter(reader)
    first = next(lines, None)
    if kind is None:
        kind = "csv" if first is not None and first.lower().startswith("url,") else "plain"
    parsed = ParsedList(name, kind)
    if first is not None:
        if kind == "csv":
            _parse_csv(parsed, first, lines, reader)
        else:
            _parse_plain(parsed, first, lines, reader)
    elif kind == "csv" and not reader.fatal:
        parsed.problems.append(error(name, 0, "empty", _("file is empty"), _(
            "write the header line {header}, or run `probe lists lint --fix {file}`").format(
                header=HEADER_LINE, file=name), fixable=True))
    parsed.problems[:0] = reader.problems
    parsed.fatal = parsed.fatal or reader.fatal
    parsed.normal_layout = not (reader.has_bom or reader.crlf_lines or not reader.ends_with_newline)
    return parsed


def _parse_csv(parsed: ParsedList, first: str, lines: Iterator[str], reader: LineReader) -> None:
    header = next(csv.reader([first]), [])
    body = lines
    if [cell.strip().lower() for cell in header] != list(HEADER) or 1 in reader.bad_lines:
        if len(header) == len(HEADER) and "://" in header[0]:
            parsed.has_header = False  # a data row where the header should be
            parsed.problems.append(error(parsed.path, 1, "header", _("the header line is missing"), _(
                "run `probe lists lint --fix {file}` to add it").format(file=parsed.path), fixable=True))
            body = itertools.chain([first], lines)
        else:
            parsed.fatal = True
            parsed.problems.append(error(parsed.path, 1, "header", _(
                "wrong columns {columns} for a Citizen Lab list").format(columns=repr(_clip(first))),
                _("the first line must be {header}").format(header=HEADER_LINE)))
            return
    elif header != list(HEADER):
        parsed.problems.append(error(parsed.path, 1, "header", _(
            "header {header} is not written exactly as {expected}").format(header=repr(_clip(first)),
                                                                          expected=HEADER_LINE),
            _("run `probe lists lint --fix {file}`").format(file=parsed.path), fixable=True))
    _read_csv_rows(parsed, body, reader, offset=1 if parsed.has_header else 0)


def _read_csv_rows(parsed: ParsedList, body: Iterator[str], reader: LineReader, *, offset: int) -> None:
    rows = csv.reader(body, strict=True)
    end = 0
    while True:
        try:
            fields = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            parsed.fatal = True
            parsed.problems.append(error(parsed.path, rows.line_num + offset, "csv-syntax",
                                         _("CSV syntax error: {problem}").format(problem=exc),
                                         _('put fields that contain commas, quotes or line breaks in double '
                                           'quotes and double any " inside')))
            return
        start, end = end + 1 + offset, rows.line_num
        if start in reader.bad_lines:
            continue
        if not fields:
            parsed.problems.append(error(parsed.path, start, "blank-line", _("blank line"),
                                         _("delete it, or run `probe lists lint --fix FILE`"), fixable=True))
            continue
        if len(fields) != len(HEADER):
            parsed.problems.append(error(parsed.path, start, "columns", _(
                "row has {count} columns; expected {expected} ({header})").format(
                    count=len(fields), expected=len(HEADER), header=HEADER_LINE),
                _('quote a field that contains a comma with double quotes ("...")')))
        parsed.rows.append(Row(start, fields))


def _parse_plain(parsed: ParsedList, first: str, lines: Iterator[str], reader: LineReader) -> None:
    for number, text in enumerate(itertools.chain([first], lines), start=1):
        if number in reader.bad_lines:
            continue
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            parsed.comments.append((number, text.rstrip("\n")))
            continue
        url, _sep, note = stripped.partition(" #")
        parsed.rows.append(Row(number, [url.strip(), "", "", "", "", note.strip()]))


def _clip(text: str, limit: int = 80) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
