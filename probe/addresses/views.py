"""Plain-text views of escaped and wide-encoded stretches, each mapping back to where it came from.

An address hides from a plain-text search when its characters are escaped or spread over wider
code units. Two kinds of view undo that, so the readings (`probe.addresses.readings`) see it:

- Escaped runs: a run of address-like characters ([0-9A-Za-z._:-]) and escapes, with at least one
  escape, decoded: percent-escapes ("192%2E0%2E2%2E2", "%31%39%32"), JavaScript/JSON "\\u002e",
  "\\u{2e}" and "\\x2e", an escaped backslash ("\\\\u002e", one level of JSON inside JSON), and HTML
  character references ("&#46;", "&#x2e;", "&period;", "&colon;", "&lowbar;", and "&amp;" for a
  reference encoded twice). Decoding repeats up to three times ("%252E" → "%2E" → ".").
- Wide runs: ASCII text in UTF-16 (little- or big-endian, with or without a byte-order mark) or
  UTF-32 code units, as bytes read as latin-1: every other (or fourth) character. The byte order
  of a stretch cannot always be told from the stretch alone, so both are read; a wide hit is then
  rewritten in place, one character for one, which is right in either order and keeps every other
  byte where it was.

Other encodings (EBCDIC, UTF-7, base64, compressed bodies a client did not decode) are not viewed.
Pure; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_ESCAPE = (r"%[0-9A-Fa-f]{2}|\\(?:u[0-9A-Fa-f]{4}|u\{[0-9A-Fa-f]{1,6}\}|x[0-9A-Fa-f]{2}|\\)"
           r"|&(?:#[0-9]{1,7};?|#[xX][0-9A-Fa-f]{1,6};?|(?:period|colon|lowbar|UnderBar|percnt|bsol|amp);)")
_ESCAPES = re.compile(_ESCAPE)
# A run starts only at an escape of an ASCII character: runs whose escapes are all of other characters
# (percent-encoded Cyrillic, &#169;) read the same as the text around them, which is read anyway.
_ASCII_ESCAPES = re.compile(r"%[0-7][0-9A-Fa-f]|\\(?:u00[0-7][0-9A-Fa-f]|u\{0*[0-7]?[0-9A-Fa-f]\}|x[0-7][0-9A-Fa-f]|\\)"
                            r"|&(?:#0*(?:1[01][0-9]|12[0-7]|[0-9]{1,2})(?![0-9]);?|#[xX]0*[0-7]?[0-9A-Fa-f](?![0-9A-Fa-f]);?"
                            r"|(?:period|colon|lowbar|UnderBar|percnt|bsol|amp);)")
_RUN = re.compile(rf"(?:[0-9A-Za-z._:\-]|&amp;#[xX]?[0-9A-Fa-f]{{1,7}};?|{_ESCAPE})*")  # "&amp;#46;": twice encoded
_RUN_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._:-")
_NAMED = {"period": ".", "colon": ":", "lowbar": "_", "UnderBar": "_", "percnt": "%", "bsol": "\\", "amp": "&"}
_ROUNDS = 3
_PRINTABLE = "\t\n\r\x20-\x7e"
# A wide run starts at its first NUL: three units or more of NULs then one ASCII character.
_WIDE = {2: re.compile(f"(?:\x00[{_PRINTABLE}]){{3,}}"), 4: re.compile(f"(?:\x00\x00\x00[{_PRINTABLE}]){{3,}}")}
_PRINTABLE_SET = frozenset("\t\n\r" + "".join(chr(c) for c in range(0x20, 0x7F)))
EDGE = 4096  # characters of a wide run read in its other byte order, at each end (see wide_runs)


class Escaped:
    """A decoded run: `text`; `span(a, b)` is where text[a:b] came from. Decoding is cheap and done for
    every run; where each character came from is worked out only for the rare run that has a hit."""

    def __init__(self, text: str, run: str, offset: int) -> None:
        self.text = text
        self._run = run
        self._offset = offset
        self._map: tuple[list[int], list[int]] | None = None

    def span(self, a: int, b: int) -> tuple[int, int]:
        if self._map is None:
            self._map = _positions(self._run, self._offset)
        starts, ends = self._map
        return starts[a], ends[b - 1]


@dataclass(frozen=True)
class Wide:
    """ASCII characters at `first`, `first + step`, …: `text` is `step`-wide text made narrow.
    `keep` says which hits count: all, or only those touching its first ("head") or last ("tail")
    character."""

    text: str
    first: int
    step: int
    keep: str = "all"


def escaped_runs(text: str) -> Iterator[Escaped]:
    """Every run with an escape in it, decoded, when it has a digit or a colon (an address does)."""
    if "%" not in text and "\\" not in text and "&" not in text:
        return
    covered = 0
    while (escape := _ASCII_ESCAPES.search(text, covered)) is not None:
        start = escape.start()
        while start > covered and text[start - 1] in _RUN_CHARS:
            start -= 1
        end = _RUN.match(text, escape.start()).end()  # type: ignore[union-attr]  # matches the empty string
        covered = max(end, escape.end())
        run = text[start:end]
        decoded = run
        for _ in range(_ROUNDS):
            again = _ESCAPES.sub(_unescaped, decoded)
            if again == decoded:
                break
            decoded = again
        if decoded != run and any(c.isdigit() or c == ":" for c in decoded):
            yield Escaped(decoded, run, start)


def _unescaped(match: re.Match[str]) -> str:
    char = _unescape(match.group(0))
    return match.group(0) if char is None else char


def _positions(run: str, offset: int) -> tuple[list[int], list[int]]:
    """For each character of the decoded run, the [start, end) in the text it came from."""
    text, starts, ends = run, list(range(offset, offset + len(run))), list(range(offset + 1, offset + len(run) + 1))
    for _ in range(_ROUNDS):
        out: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        last = 0
        for escape in _ESCAPES.finditer(text):
            char = _unescape(escape.group(0))
            if char is None:
                continue
            out.append(text[last:escape.start()])
            new_starts += starts[last:escape.start()]
            new_ends += ends[last:escape.start()]
            out.append(char)
            new_starts.append(starts[escape.start()])
            new_ends.append(ends[escape.end() - 1])
            last = escape.end()
        if last == 0:
            break
        out.append(text[last:])
        new_starts += starts[last:]
        new_ends += ends[last:]
        text, starts, ends = "".join(out), new_starts, new_ends
    return starts, ends


def _unescape(escape: str) -> str | None:
    if escape[0] == "%":
        return chr(int(escape[1:], 16))
    if escape[0] == "\\":
        if escape == "\\\\":
            return "\\"
        digits = escape[2:].strip("{}")
        return chr(int(digits, 16)) if int(digits, 16) <= 0x10FFFF else None
    body = escape[1:].rstrip(";")
    if body in _NAMED:
        return _NAMED[body]
    value = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
    return chr(value) if 0 < value <= 0x10FFFF else None


def wide_runs(text: str) -> Iterator[Wide]:
    """Every stretch of ASCII in 2- or 4-byte code units, read in both byte orders.

    The two orders read the same characters but at the ends: little-endian may add the character
    before the first NUL and drop the last one (which may really be half of a non-ASCII unit, such
    as Cyrillic "а", 0x04 0x30 = "0"). So the big-endian reading is the whole run, and the
    little-endian one is read at its ends only, keeping the hits that touch the character only it has."""
    if "\x00" not in text:
        return
    for step, pattern in _WIDE.items():
        for match in pattern.finditer(text):
            start, end = match.span()
            yield Wide(text[start + step - 1:end:step], start + step - 1, step)
            first = start - 1 if start and text[start - 1] in _PRINTABLE_SET else start + step - 1
            last = end - 1 if text[end:end + step - 1] == "\x00" * (step - 1) else end - 1 - step
            if last < first or (first == start + step - 1 and last == end - 1):
                continue
            count = (last - first) // step + 1
            if count <= 2 * EDGE:
                yield Wide(text[first:last + 1:step], first, step)
                continue
            if first != start + step - 1:
                yield Wide(text[first:first + EDGE * step:step], first, step, "head")
            if last != end - 1:
                tail = last - (EDGE - 1) * step
                yield Wide(text[tail:last + 1:step], tail, step, "tail")
