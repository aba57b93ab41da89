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
_RUN = re.compile(rf"(?:[0-9A-Za-z._:\-]|&amp;#[xX]?[0-9A-Fa-f]{{1,7}};?|{_ESCAPE})*")  # "&amp;#46;": twice encoded
_RUN_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._:-")
_NAMED = {"period": ".", "colon": ":", "lowbar": "_", "UnderBar": "_", "percnt": "%", "bsol": "\\", "amp": "&"}
_ROUNDS = 3
_PRINTABLE = "\t\n\r\x20-\x7e"
# A wide run starts at its first NUL: three units or more of NULs then one ASCII character.
_WIDE = {2: re.compile(f"(?:\x00[{_PRINTABLE}]){{3,}}"), 4: re.compile(f"(?:\x00\x00\x00[{_PRINTABLE}]){{3,}}")}
_PRINTABLE_SET = frozenset("\t\n\r" + "".join(chr(c) for c in range(0x20, 0x7F)))


@dataclass(frozen=True)
class Escaped:
    """A decoded run: `text`, and for each of its characters the [start, end) it came from."""

    text: str
    starts: list[int]
    ends: list[int]


@dataclass(frozen=True)
class Wide:
    """ASCII characters at `first`, `first + step`, …: `text` is `step`-wide text made narrow."""

    text: str
    first: int
    step: int


def escaped_runs(text: str) -> Iterator[Escaped]:
    """Every run with an escape in it, decoded, when it has a digit or a colon (an address does)."""
    if "%" not in text and "\\" not in text and "&" not in text:
        return
    covered = 0
    for escape in _ESCAPES.finditer(text):
        if escape.start() < covered:
            continue
        start = escape.start()
        while start > covered and text[start - 1] in _RUN_CHARS:
            start -= 1
        end = _RUN.match(text, escape.start()).end()  # type: ignore[union-attr]  # matches the empty string
        covered = end
        run = _decode(text[start:end], start)
        if run is not None and any(c.isdigit() or c == ":" for c in run.text):
            yield run


def _decode(run: str, offset: int) -> Escaped | None:
    text, starts, ends = run, list(range(offset, offset + len(run))), list(range(offset + 1, offset + len(run) + 1))
    changed = False
    for _ in range(_ROUNDS):
        out: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        last = 0
        for escape in _ESCAPES.finditer(text):
            char = _unescape(escape.group(0))
            if char is None:
                continue
            for i in range(last, escape.start()):
                out.append(text[i])
                new_starts.append(starts[i])
                new_ends.append(ends[i])
            out.append(char)
            new_starts.append(starts[escape.start()])
            new_ends.append(ends[escape.end() - 1])
            last = escape.end()
        if last == 0:
            break
        for i in range(last, len(text)):
            out.append(text[i])
            new_starts.append(starts[i])
            new_ends.append(ends[i])
        text, starts, ends, changed = "".join(out), new_starts, new_ends, True
    return Escaped(text, starts, ends) if changed else None


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
    """Every stretch of ASCII in 2- or 4-byte code units, read in both byte orders."""
    if "\x00" not in text:
        return
    for step, pattern in _WIDE.items():
        for match in pattern.finditer(text):
            start, end = match.span()
            # Big-endian: the ASCII byte ends each unit the match is made of.
            yield Wide(text[start + step - 1:end:step], start + step - 1, step)
            # Little-endian: the same characters, plus the one before the first NUL when it is ASCII,
            # minus the last one unless NULs follow it.
            first = start - 1 if start and text[start - 1] in _PRINTABLE_SET else start + step - 1
            last = end - 1 if text[end:end + step - 1] == "\x00" * (step - 1) else end - 1 - step
            if (first != start + step - 1 or last != end - 1) and last >= first:
                yield Wide(text[first:last + 1:step], first, step)
