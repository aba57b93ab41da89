"""Problems found in a target list: where (file:line), what is wrong, and how to fix it.

A `Problem` is data, not an exception: validation collects every problem in a file so a maintainer
sees them all at once. `probe.targets.loader` turns the problems that make a list unusable into one
`InputError`, and reports rows it skips (a URL that cannot be measured) one by one. This module only
describes problems; it does not find them.

Codes (stable; tests and scripts may match on them):

    file level   too-large  binary  encoding  utf16  line-too-long  csv-syntax  empty  header
                 bom  crlf
    row level    blank-line  columns  whitespace  url  url-form  category-missing  category-unknown
                 category-legacy  category-description  date  control-char
    list level   duplicate  http-https-twin  host-categories
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from probe.i18n import N_, _

Severity = Literal["error", "warning"]
_SEVERITIES = (N_("error"), N_("warning"))  # for the catalogs: shown translated

# Problems that make a list unusable for measuring: `load_targets` refuses the list on any of these.
# A row that cannot be measured (SKIPPED_ON_LOAD) is reported and skipped, and the other rows are
# measured. Everything else is either repaired in memory exactly as `probe lists lint --fix` would
# repair it (BOM, CRLF, URL form, legacy category code, duplicate rows) or does not affect what is
# measured.
FATAL_ON_LOAD = frozenset(
    {"too-large", "binary", "encoding", "utf16", "line-too-long", "csv-syntax", "header", "columns"}
)
SKIPPED_ON_LOAD = frozenset({"url"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a list. `line` is 1-based; 0 means the file as a whole."""

    path: str
    line: int
    severity: Severity
    code: str
    message: str
    hint: str = ""
    fixable: bool = False

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        # The frame (severity, "fix") in the current language; the code stays the identifier scripts match on.
        text = f"{self.location}: {_(self.severity)}: {self.message}"
        return _("{problem} (fix: {hint})").format(problem=text, hint=self.hint) if self.hint else text


def error(path: str, line: int, code: str, message: str, hint: str = "", *,
          fixable: bool = False) -> Problem:
    return Problem(path, line, "error", code, message, hint, fixable)


def warning(path: str, line: int, code: str, message: str, hint: str = "", *,
            fixable: bool = False) -> Problem:
    return Problem(path, line, "warning", code, message, hint, fixable)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """File order, then line order; file-level problems first. Stable for equal lines."""
    return sorted(problems, key=lambda p: (p.path, p.line))
