"""A cheap test that says when a fingerprint's regular expression cannot match: its required text.

Most of a regexp fingerprint's cost is the search over a page that does not match it: a
case-insensitive pattern that starts with an alternation (`(?i)(?:not|isn't|is not) available in
your country`) is tried at every character of every body (~0.4 ms a page). Such a pattern still holds a
stretch of plain characters every match must contain (" available in your country"); when the page
lacks it, the regexp need not run. The stretch is read off the pattern conservatively (top level
only, anything unusual ends it), so the test never says no to a page the regexp would match: it only
spares the regexp where it would have failed. Pure; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_NEEDLE = 3  # shorter stretches are found in nearly every page: their test is a cost without a gain
_SPECIAL = ".^$*+?{}[]\\|()"
_QUANTIFIERS = "*+?{"


@dataclass(frozen=True)
class Needle:
    """The plain text every match of a regexp contains, and how to look for it (its flags' case rules)."""

    text: str
    ignore_case: bool
    _lower: str  # `text` lower-cased, for the ASCII fast path
    _search: re.Pattern[str]  # `text` as a regexp with the pattern's own flags: its exact case rules

    def in_text(self, value: str, lowered: str | None = None) -> bool:
        """False only when `value` cannot hold a match. `lowered` is `value.lower()` if already made."""
        if not self.ignore_case:
            return self.text in value
        if value.isascii() and self.text.isascii():
            # Between ASCII characters re's case-insensitive match is plain lower-casing; the special
            # cases (dotless ı, long ſ, Kelvin K, İ) all involve a non-ASCII character.
            return self._lower in (value.lower() if lowered is None else lowered)
        return self._search.search(value) is not None


def needle(regex: re.Pattern[str]) -> Needle | None:
    """The longest stretch of plain characters at the top level of `regex` (None: none worth testing)."""
    if regex.flags & re.VERBOSE:  # whitespace and comments are not text there: not worth reading
        return None
    text = _required(regex.pattern)
    if text is None or len(text) < MIN_NEEDLE:
        return None
    flags = regex.flags & (re.IGNORECASE | re.ASCII | re.UNICODE)
    return Needle(text=text, ignore_case=bool(regex.flags & re.IGNORECASE), _lower=text.lower(),
                  _search=re.compile(re.escape(text), flags))


def _required(pattern: str) -> str | None:
    """The longest run of literal characters in the top-level sequence of `pattern`; None when the
    top level is an alternation (no text is required then) or the pattern is not understood."""
    runs: list[str] = []
    run: list[str] = []
    depth = 0
    i, n = 0, len(pattern)

    def end_run() -> None:
        if run:
            runs.append("".join(run))
            run.clear()

    while i < n:
        ch = pattern[i]
        if ch == "[":  # a character class: skip it, it is no literal
            end_run()
            i = _class_end(pattern, i)
            if i < 0:
                return None
            continue
        if ch == "\\":
            if i + 1 >= n:
                return None
            nxt = pattern[i + 1]
            if depth == 0 and not (nxt.isascii() and nxt.isalnum()):
                run.append(nxt)  # an escaped punctuation character is that character
            elif depth == 0:
                end_run()  # \w, \d, \b, \1, \x41 ...: not a plain character (or not read here)
            i += 2
            continue
        if ch == "(":
            end_run()
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return None
        elif depth > 0:
            pass  # inside a group: optional, repeated or alternative text, never required here
        elif ch == "|":
            return None
        elif ch in _QUANTIFIERS:
            if run:
                run.pop()  # the character before a quantifier may be absent (or repeated)
            end_run()
            if ch == "{":
                close = pattern.find("}", i)
                if close < 0:
                    break  # a literal "{" to the end: keep what was read before it
                i = close
        elif ch in _SPECIAL:  # . ^ $ and a stray }: not plain text
            end_run()
        else:
            run.append(ch)
        i += 1
    end_run()
    if depth != 0:
        return None
    return max(runs, key=len) if runs else ""


def _class_end(pattern: str, start: int) -> int:
    """The index just past the `]` closing the class that opens at `start`; -1 when unclosed."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1  # a "]" first in a class is a member
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i + 1
        i += 1
    return -1
