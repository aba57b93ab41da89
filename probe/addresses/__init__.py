"""IP addresses in text: the one matcher behind every scrubber and the export's leak check.

Without a predicate (free text: failure strings, daemon logs) every literal address is found, in any
of its literal spellings: "203.0.113.7", "203.0.113.7." at the end of a sentence, "client.203.0.113.7",
"::ffff:203.0.113.7", a non-canonical or exploded IPv6, and escaped ("2001%3Adb8%3A%3A7",
"Your%20IP%20203.0.113.7", "&#50;03.0.113.7") or in UTF-16/UTF-32 bytes. "12:30:45" or "1.2.3.4.5"
are no address at all.

With a predicate (`wanted`: the volunteer's own addresses, given to the matcher) every token is also
read every other way software writes an address: "ip-192-0-2-2", "192_0_2_2", "192.000.002.002",
octal and hex quads, "2.2.0.192.in-addr.arpa", ip6.arpa nibbles, the address as one whole number
(3221225986, 0xC0000202) and the IPv4 address inside NAT64/6to4/Teredo (`readings` says how). Those
readings would turn ordinary numbers into "some address", so they are only ever compared with the
addresses asked for; an unrelated long number is an address nobody asked about and stays.

One pass per view: the text itself, each escaped run decoded, each wide run made narrow (`views`).
The patterns are compiled once; what an address is, is decided by parsing, so every spelling of
one address is that address. A caller's predicate is asked once per distinct address per call.

Bytes are matched as latin-1 text (one character per byte), so positions and non-ASCII bytes survive.
Pure functions; no I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from probe.addresses.readings import IPAddress, address, parse, read
from probe.addresses.views import escaped_runs, wide_runs

__all__ = ["IPAddress", "Predicate", "find", "find_bytes", "parse", "replace", "replace_bytes"]

Predicate = Callable[[IPAddress], bool]


@dataclass(frozen=True)
class _Hit:
    start: int  # first character of the spelling
    end: int  # one past its last
    step: int  # 1: a plain stretch, replaced whole; 2 or 4: wide, one character every `step`, rewritten in place
    ips: tuple[IPAddress, ...]


def _plain(text: str, extended: bool) -> Iterator[tuple[int, int, list[int]]]:
    yield from read(text, extended=extended)
    for run in escaped_runs(text):
        for a, b, ips in read(run.text, extended=extended):
            yield (*run.span(a, b), ips)


# Every reading starts at one of these (see `readings` and `views`): a digit (quads, whole numbers,
# "ip6.arpa", "ipv6-literal.net"), two colons around at most four hex digits (IPv6), an escape or a
# NUL (escaped and wide views). Text with none of them spells no address: most strings of a
# measurement ("GET", header names, failure strings) are passed over at the cost of one search.
_MAYBE = re.compile(r"[0-9%\\&\x00]|:[0-9A-Fa-f]{0,4}:")
# Short strings recur across measurements (addresses, header values, user agents): their readings,
# which do not depend on the predicate, are kept. Longer texts (bodies) are read each time.
_CACHED_CHARS = 512
_Raw = tuple[tuple[int, int, int, tuple[int, ...]], ...]  # start, end, step, codes: every reading, in order


def _raw(text: str, extended: bool) -> _Raw:
    """Every reading of `text` in every view, whoever is asked about (what `_hits` filters)."""
    if _MAYBE.search(text) is None:
        return ()
    out = [(s, e, 1, tuple(found)) for s, e, found in _plain(text, extended)]
    for run in wide_runs(text):
        for a, b, found in _plain(run.text, extended):
            if run.keep == "head" and a or run.keep == "tail" and b < len(run.text):
                continue  # read in the other byte order, where this character is not
            out.append((run.first + run.step * a, run.first + run.step * (b - 1) + 1, run.step, tuple(found)))
    return tuple(out)


_raw_cached = functools.lru_cache(maxsize=16384)(_raw)


def _hits(text: str, wanted: Predicate | None) -> list[_Hit]:
    """Every spelling in `text` of an address `wanted` says yes to (any address when None), in order."""
    extended = wanted is not None
    raw = _raw_cached(text, extended) if len(text) <= _CACHED_CHARS else _raw(text, extended)
    if not raw:
        return []
    known: dict[int, IPAddress | None] = {}  # code → the address when wanted, None when not

    def chosen(codes: tuple[int, ...]) -> tuple[IPAddress, ...]:
        out: list[IPAddress] = []
        for code in codes:
            if code not in known:
                ip = address(code)
                known[code] = ip if wanted is None or wanted(ip) else None
            ip_or_none = known[code]
            if ip_or_none is not None and ip_or_none not in out:
                out.append(ip_or_none)
        return tuple(out)

    hits = [_Hit(s, e, step, ips) for s, e, step, codes in raw if (ips := chosen(codes))]
    hits.sort(key=lambda h: (h.start, -h.end))
    return hits


def find(text: str, wanted: Predicate | None = None) -> list[IPAddress]:
    """The addresses in `text` (those `wanted` says yes to, when given), in order of appearance; one
    stretch read several ways (a view and its escaped form, both byte orders) counts once."""
    out: list[IPAddress] = []
    group: dict[IPAddress, None] = {}
    group_end = -1
    for hit in _hits(text, wanted):
        if hit.start >= group_end:
            out += group
            group = {}
        group.update(dict.fromkeys(hit.ips))
        group_end = max(group_end, hit.end)
    return out + list(group)


def replace(text: str, replacement: str, wanted: Predicate | None = None) -> str:
    """`text` with every spelling of an address (or of those `wanted` says yes to) replaced.

    A plain stretch becomes `replacement`; overlapping stretches become one. A wide one is rewritten
    in place, `replacement` cut or padded with spaces to its length, one character per code unit."""
    hits = _hits(text, wanted)
    if not hits:
        return text
    spans: list[list[int]] = []
    chars: dict[int, str] = {}
    for hit in hits:
        if hit.step == 1:
            if spans and hit.start < spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], hit.end)
            else:
                spans.append([hit.start, hit.end])
            continue
        positions = [p for p in range(hit.start, hit.end, hit.step) if p not in chars]
        chars.update(zip(positions, _fit(replacement, len(positions)), strict=True))
    edits = sorted([(s, e, replacement) for s, e in spans] + [(p, p + 1, c) for p, c in chars.items()])
    out, last = [], 0
    for start, end, new in edits:
        if start < last:
            continue  # a wide character inside a stretch already replaced
        out += [text[last:start], new]
        last = end
    out.append(text[last:])
    return "".join(out)


def _fit(replacement: str, length: int) -> str:
    if length >= len(replacement):
        return replacement.ljust(length)
    return replacement[:length - 1] + replacement[-1:] if length > 1 else replacement[:length]


def replace_bytes(data: bytes, replacement: bytes, wanted: Predicate | None = None) -> bytes:
    text = data.decode("latin-1")
    result = replace(text, replacement.decode("latin-1"), wanted)
    return data if result is text else result.encode("latin-1")


def find_bytes(data: bytes, wanted: Predicate | None = None) -> list[IPAddress]:
    return find(data.decode("latin-1"), wanted)
