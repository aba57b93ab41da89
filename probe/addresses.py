"""IP address literals in text: the one matcher behind every scrubber and the export's leak check.

An address leaks in many spellings: "203.0.113.7", "203.0.113.7." at the end of a sentence,
"client.203.0.113.7", "::ffff:203.0.113.7", a non-canonical IPv6 ("2001:db8:1:2:0:0:0:7"), an
exploded one, and percent-encoded in a redirect's query ("2001%3Adb8%3A%3A7"). Candidates are found
with two loose patterns and then parsed with `ipaddress`, so every spelling of one address is the
same address, and "12:30:45" or "1.2.3.4.5" are no address at all. IPv4-mapped IPv6 is the IPv4
address it carries.

Bytes are matched as latin-1 text (one character per byte), so positions and non-ASCII bytes survive.
Pure functions; no I/O.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
from collections.abc import Callable, Iterator

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# What may come right before an address although it is a letter or a digit: a percent escape
# ("IP%20203.0.113.7", "ip%3D2001%3Adb8%3A%3A7") or a backslash escape in JSON ("\\n2001:db8::7").
_ESCAPED = r"(?<=%[0-9A-Fa-f]{2})|(?<=\\[nrtbf])"
# A dotted quad not inside a longer dotted number: "11.2.3.45" is not "1.2.3.4", "1.2.3.4.5" is no
# address, but "from 1.2.3.4." (a sentence) and "client.1.2.3.4" (a PTR-like name) are.
_V4 = re.compile(rf"(?:(?<![0-9])(?<![0-9]\.)|{_ESCAPED})\d{{1,3}}(?:\.\d{{1,3}}){{3}}(?![0-9])(?!\.[0-9])")
# Hex groups joined by at least two colons (or %3A), optionally ending in a dotted quad. Not glued to
# a word ("std::vector", "ab:cd:ef" in an identifier are no addresses), but a colon may come before
# ("REMOTE_ADDR:2001:db8::7", "IPv6:2001:db8::7").
_SEP = r"(?::|%3[Aa])"
_V6 = re.compile(rf"(?:(?<![0-9A-Za-z%])|{_ESCAPED})(?:[0-9A-Fa-f]{{0,4}}{_SEP}){{2,7}}"
                 rf"(?:\d{{1,3}}(?:\.\d{{1,3}}){{3}}|[0-9A-Fa-f]{{1,4}})?(?![0-9A-Za-z])")
_DOTTED_TAIL = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}$")


Predicate = Callable[[IPAddress], bool]


@functools.lru_cache(maxsize=4096)  # pages repeat the same tokens; parsing is the costly part
def parse(text: str) -> IPAddress | None:
    """An address from one candidate spelling (percent-encoded colons allowed); IPv4-mapped → IPv4.

    The unspecified address ("::", "0.0.0.0") is nobody's: None, so "a :: b" is left alone.
    """
    try:
        ip = ipaddress.ip_address(re.sub(r"%3[Aa]", ":", text))
    except ValueError:
        return None
    if ip.is_unspecified:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id is not None:
            return None
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
    return ip


def _v6_spans(text: str) -> Iterator[tuple[int, int, list[IPAddress]]]:
    for match in _V6.finditer(text):
        start, span = match.start(), match.group(0)
        ip = parse(span)
        while ip is None and span.count(":") + span.upper().count("%3A") > 2:
            # "6:2001:db8::7" (after "IPv"), ":2001:db8::7": drop a leading group and try again
            cut = min(i for i in (span.find(":"), span.upper().find("%3A")) if i >= 0)
            step = 1 if span[cut] == ":" else 3
            start, span = start + cut + step, span[cut + step:]
            ip = parse(span)
        if ip is None:
            continue
        ips = [ip]
        tail = _DOTTED_TAIL.search(span)
        if isinstance(ip, ipaddress.IPv6Address) and tail is not None:
            embedded = parse(tail.group(0))  # NAT64 "64:ff9b::a.b.c.d", "::a.b.c.d": that IPv4 address too
            if embedded is not None:
                ips.append(embedded)
        yield start, match.end(), ips


def _candidates(text: str) -> Iterator[tuple[int, int, list[IPAddress]]]:
    """(start, end, addresses) of every address literal, IPv6 first (it may end in a dotted quad)."""
    taken_starts: list[int] = []
    taken_ends: list[int] = []
    for start, end, ips in _v6_spans(text):
        taken_starts.append(start)
        taken_ends.append(end)
        yield start, end, ips
    for match in _V4.finditer(text):
        i = bisect.bisect_right(taken_starts, match.start()) - 1
        if i >= 0 and match.start() < taken_ends[i]:
            continue  # the dotted quad at the end of an IPv6 address already found
        ip = parse(match.group(0))
        if ip is not None:
            yield match.start(), match.end(), [ip]


def find(text: str, wanted: Predicate | None = None) -> list[IPAddress]:
    """The addresses in `text` (those `wanted` says yes to, when given), in order of appearance."""
    found = sorted(_candidates(text), key=lambda c: c[0])
    return [ip for _, _, ips in found for ip in ips if wanted is None or wanted(ip)]


def replace(text: str, replacement: str, wanted: Predicate | None = None) -> str:
    """`text` with every address literal (or every one `wanted` says yes to) replaced."""
    spans = sorted((s, e) for s, e, ips in _candidates(text) if wanted is None or any(wanted(ip) for ip in ips))
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        if start < last:
            continue
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def replace_bytes(data: bytes, replacement: bytes, wanted: Predicate | None = None) -> bytes:
    text = data.decode("latin-1")
    result = replace(text, replacement.decode("latin-1"), wanted)
    return data if result is text else result.encode("latin-1")


def find_bytes(data: bytes, wanted: Predicate | None = None) -> list[IPAddress]:
    return find(data.decode("latin-1"), wanted)
