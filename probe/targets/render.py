"""Write rows back as list text, and replace a list file atomically.

Citizen Lab CSVs are written the way upstream writes them: the header, then rows with minimal
quoting, UTF-8 without BOM, LF line ends, a final newline. Plain lists keep their comment and blank
lines where they were. Rendering does not change any value: fixing values is `probe.targets.lint`.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from probe.errors import InputError
from probe.i18n import _
from probe.targets.parse import HEADER, Kind, Row

_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def render_list(kind: Kind, rows: Sequence[Row], comments: Sequence[tuple[int, str]] = ()) -> str:
    if kind == "csv":
        return "".join(csv_line(fields) for fields in [list(HEADER), *(row.fields for row in rows)])
    lines: list[tuple[int, int, str]] = [(number, 0, text) for number, text in comments]
    for order, row in enumerate(rows):
        note = row.get(5)
        lines.append((row.line, 1 + order, row.url + (f"  # {note}" if note else "")))
    return "".join(text + "\n" for _key, _order, text in sorted(lines))


def csv_line(fields: Sequence[str]) -> str:
    """One CSV record with minimal quoting, as Python's csv module writes it, except that a field
    holding a lone carriage return is quoted too (csv.writer leaves it bare when lines end in LF,
    which makes the file unreadable)."""
    if list(fields) == [""]:
        return '""\n'  # a lone empty field, told apart from a blank line
    return ",".join(f'"{f.replace(chr(34), chr(34) * 2)}"' if _NEEDS_QUOTES.search(f) else f
                    for f in fields) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) so that a crash leaves either the old or the new file."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(_("cannot write {path}: {problem}").format(path=path, problem=exc.strerror),
                         hint=_("check the directory exists and is writable")) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InputError(_("cannot write {path}: {problem}").format(path=path, problem=exc.strerror),
                         hint=_("check the file is writable")) from exc
