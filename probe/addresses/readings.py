"""Which addresses a stretch of plain text spells, token by token: the reading half of the matcher.

Literal addresses are always read: a dotted quad not inside a longer dotted number, IPv6 in any case,
compressed or exploded, IPv4-mapped (read as the IPv4 address it carries) or ending in a dotted quad
(read as both). With `extended=True` (the caller looks only for the volunteer's own addresses) a
token is also read every other way software writes an address, each reading kept:

- quads joined by dots, dashes or underscores ("ip-192-0-2-2", "192_0_2_2"), with leading zeros
  ("192.000.002.002", read as decimal and, as inet_aton and browsers do, as octal), hex parts
  ("0xc0.0x00.0x02.0x02"); a quad that goes on as a host name ("2.2.0.192.in-addr.arpa",
  "2-2-0-192.pool.isp.kz") is read backwards too;
- one whole number: decimal of 8 to 39 digits, "0x" hex, "0"-led octal. Only a whole token counts
  (not glued to a letter, digit, "_" or a decimal point): an ID or a size that merely contains the
  digits stays, at the price that "id3221225986" is not read;
- ip6.arpa nibble names and Windows' "2001-db8--7.ipv6-literal.net";
- the IPv4 address inside NAT64 (64:ff9b::/96), IPv4-compatible, 6to4 and Teredo IPv6 addresses.

Escaped text (%2E, \\u002e, &#46;) and wide encodings are not read here: `probe.addresses.views`
decodes them into plain text first. Pure; no I/O.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# An address as one int, cheap to make, hash and compare: IPv4 as its value, IPv6 as its value + V6.
# The caller turns a code into an address (`address`) once per distinct code.
V6 = 1 << 128
Reading = tuple[int, int, list[int]]  # start, end, the codes of the addresses that stretch spells

# Hex groups joined by at least two colons, optionally ending in a dotted quad. Not glued to a word
# ("std::vector", "ab:cd:ef" are no addresses), but a colon may come before ("REMOTE_ADDR:2001:db8::7")
# and so may a JSON escape ("\\n2001:db8::7").
_V6 = re.compile(r"(?:(?<![0-9A-Za-z%])|(?<=\\[nrtbf]))(?:[0-9A-Fa-f]{0,4}:){2,7}"
                 r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?(?![0-9A-Za-z])")
_V6_CORE = re.compile(r":[0-9A-Fa-f]{0,4}:")  # every IPv6 literal has one; a literal first char makes it fast
_V6_RUN = re.compile(r"[0-9A-Fa-f:.]*")
_DOTTED_TAIL = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}$")
# One pattern for every numeric token, starting with a digit so the engine skips the rest quickly: a
# quad (dots, dashes or underscores; decimal, octal or hex parts), a hex number, a long decimal one.
_PART = r"[0-9](?:[xX][0-9A-Fa-f]{1,2}|[0-9]{0,3})"
_NUMBER = re.compile(r"[0-9](?:(?:[xX][0-9A-Fa-f]{1,2}|[0-9]{0,3})([._-])" + rf"{_PART}(?:\1{_PART}){{2}}"
                     r"|[xX][0-9A-Fa-f]{1,32}|[0-9]{7,38})")
_NIBBLES = re.compile(r"(?:[0-9A-Fa-f]\.){32}")
_IP6_ARPA = re.compile(r"[iI][pP]6\.[aA][rR][pP][aA]")
_LITERAL_NET = re.compile(r"\.[iI][pP][vV]6-[lL][iI][tT][eE][rR][aA][lL]\.[nN][eE][tT]")
_LITERAL_NET_HOST = re.compile(r"([0-9A-Fa-f-]{2,39})(?:[sS][0-9A-Za-z]+)?")
_WORD = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_HEXDIGITS = frozenset("0123456789ABCDEFabcdef")
_NAT64 = int(ipaddress.IPv6Address("64:ff9b::")) >> 32


@functools.lru_cache(maxsize=4096)  # pages repeat the same tokens; parsing is the costly part
def parse(text: str) -> IPAddress | None:
    """An address from one literal spelling (percent-encoded colons allowed); IPv4-mapped → IPv4.

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


def address(code: int) -> IPAddress:
    return ipaddress.IPv6Address(code - V6) if code >= V6 else ipaddress.IPv4Address(code)


def _code(ip: IPAddress) -> int:
    return int(ip) + V6 if isinstance(ip, ipaddress.IPv6Address) else int(ip)


def _v6_code(value: int) -> list[int]:
    """An IPv6 value as codes: IPv4-mapped is the IPv4 address; unspecified is nobody's."""
    if value >> 32 == 0xFFFF:
        return [value & 0xFFFFFFFF] if value & 0xFFFFFFFF else []
    return [value + V6] if value else []


def read(text: str, *, extended: bool) -> Iterator[Reading]:
    """Every stretch of `text` that spells an address, with what it spells (IPv6 first: it may end in
    a dotted quad, which is then not read again on its own)."""
    taken: list[tuple[int, int]] = []
    for start, end, codes in _v6_literals(text):
        taken.append((start, end))
        yield start, end, [*codes, *_embedded(codes)] if extended else codes
    if extended and ("arpa" in (low := text.lower()) or "literal" in low):
        yield from _reverse_names(text)
    yield from _numbers(text, taken, extended)


def _v6_literals(text: str) -> Iterator[Reading]:
    covered = 0
    for core in _V6_CORE.finditer(text):
        if core.start() < covered:
            continue
        begin = core.start()
        while begin > core.start() - 4 and begin > 0 and text[begin - 1] in _HEXDIGITS:
            begin -= 1
        end = _V6_RUN.match(text, core.start()).end()  # type: ignore[union-attr]  # matches the empty string
        covered = end
        for match in _V6.finditer(text, begin, end + 1):
            start, span = match.start(), match.group(0)
            ip = parse(span)
            while ip is None and span.count(":") > 2:
                # "6:2001:db8::7" (after "IPv"), ":2001:db8::7": drop a leading group and try again
                cut = span.find(":") + 1
                start, span = start + cut, span[cut:]
                ip = parse(span)
            if ip is None:
                continue
            codes = [_code(ip)]
            tail = _DOTTED_TAIL.search(span)
            if isinstance(ip, ipaddress.IPv6Address) and tail is not None:
                embedded = parse(tail.group(0))  # NAT64 "64:ff9b::a.b.c.d", "::a.b.c.d": that IPv4 address too
                if embedded is not None:
                    codes.append(_code(embedded))
            yield start, match.end(), codes


def _embedded(codes: list[int]) -> list[int]:
    """The IPv4 address an IPv6 one carries in hex: NAT64, IPv4-compatible, 6to4, Teredo's client."""
    out: list[int] = []
    for code in codes:
        if code < V6:
            continue
        value = code - V6
        if value >> 32 in (0, _NAT64):
            out.append(value & 0xFFFFFFFF)
        if value >> 112 == 0x2002:
            out.append((value >> 80) & 0xFFFFFFFF)
        if value >> 96 == 0x20010000:
            out.append(~value & 0xFFFFFFFF)
    return [c for c in out if c]


def _numbers(text: str, taken: list[tuple[int, int]], extended: bool) -> Iterator[Reading]:
    spans = iter(taken)
    current = next(spans, None)
    for match in _NUMBER.finditer(text):
        start, end = match.span()
        while current is not None and current[1] <= start:
            current = next(spans, None)
        if current is not None and current[0] <= start:
            continue  # the dotted quad at the end of an IPv6 address already read
        sep = match.group(1)
        if sep is None:
            if extended and _whole_token(text, start, end):
                codes = _number_readings(match.group(0))
                if codes:
                    yield start, end, codes
            continue
        if not _quad_bounded(text, start, end, sep):
            continue
        if not extended:
            ip = parse(match.group(0)) if sep == "." else None
            if ip is not None:
                yield start, end, [_code(ip)]
            continue
        codes = _quad_readings(match.group(0), sep, _goes_on_as_a_name(text, end))
        if codes:
            yield start, end, codes


def _quad_bounded(text: str, start: int, end: int, sep: str) -> bool:
    """Not inside a longer number: "11.2.3.45" is not "1.2.3.4", "1.2.3.4.5" is no address, but "from
    1.2.3.4." (a sentence) and "client.1.2.3.4" (a PTR-like name) are."""
    before = text[start - 2:start] if start >= 2 else text[:start]
    if before[-1:].isdigit() or (len(before) == 2 and before[1] == sep and before[0].isdigit()):
        return False
    after = text[end:end + 2]
    return not (after[:1].isdigit() or (after[:1] == sep and after[1:2].isdigit())
                or (after[:1] in _HEXDIGITS and "x" in text[start:end].lower().rsplit(sep, 1)[-1]))


def _whole_token(text: str, start: int, end: int) -> bool:
    escaped = start >= 2 and text[start - 2] == "\\" and text[start - 1] in "nrtbf"  # after a JSON escape
    if start and (text[start - 1] in _WORD or text[start - 1] == ".") and not escaped:
        return False
    after = text[end:end + 2]
    return not (after[:1] in _WORD or (after[:1] == "." and after[1:2].isdigit()))


def _goes_on_as_a_name(text: str, end: int) -> bool:
    """A PTR-style host name carries the address backwards: "2.2.0.192.in-addr.arpa"."""
    return text[end:end + 1] in (".", "-") and text[end + 1:end + 2].isalpha()


def _part_values(part: str) -> list[int]:
    """What one part of a quad may mean: hex, decimal, and octal when it has a leading zero."""
    if part[1:2] in ("x", "X"):
        return [int(part[2:], 16)] if part[0] == "0" else []
    values = [int(part)]
    if len(part) > 1 and part[0] == "0" and not set(part) & {"8", "9"}:
        values.append(int(part, 8))
    return values


@functools.lru_cache(maxsize=8192)
def _quad_readings(token: str, sep: str, backwards: bool) -> list[int]:
    parts = token.split(sep)
    if "x" not in token and "X" not in token and all(p[0] != "0" or len(p) == 1 for p in parts):
        readings = [[int(p) for p in parts]]  # the common case: plain decimal
    else:
        choices = [_part_values(p) for p in parts]
        if not all(choices):
            return []
        readings = [[c[0] for c in choices], [c[-1] for c in choices]]  # all decimal; octal where it can be
    out: list[int] = []
    for a, b, c, d in readings:
        if a <= 255 and b <= 255 and c <= 255 and d <= 255:
            for code in ((a << 24 | b << 16 | c << 8 | d), (d << 24 | c << 16 | b << 8 | a))[:2 if backwards else 1]:
                if code and code not in out:
                    out.append(code)
    return out


def _number_readings(token: str) -> list[int]:
    if token[1:2] in ("x", "X"):
        if token[0] != "0":
            return []
        values = [(int(token[2:], 16), len(token) - 2 <= 8)]
    else:
        values = [(int(token), int(token) < 1 << 32)]
        if token[0] == "0" and not set(token) & {"8", "9"}:
            values.append((int(token, 8), int(token, 8) < 1 << 32))
    out: list[int] = []
    for value, v4 in values:
        if 0 < value < V6:
            codes = [value] if v4 else _v6_code(value)
            out += [*codes, *_embedded(codes)]
    return out


def _reverse_names(text: str) -> Iterator[Reading]:
    """ip6.arpa nibble names and ipv6-literal.net host names (in-addr.arpa is a backwards quad)."""
    for match in _IP6_ARPA.finditer(text):
        start = match.start() - 64
        if start >= 0 and _NIBBLES.fullmatch(text, start, match.start()):
            nibbles = text[start:match.start()].replace(".", "")[::-1]
            codes = _v6_code(int(nibbles, 16))
            yield start, match.end(), [*codes, *_embedded(codes)]
    for match in _LITERAL_NET.finditer(text):
        start = match.start()
        while start > max(0, match.start() - 60) and (text[start - 1] in _WORD or text[start - 1] == "-"):
            start -= 1
        host = _LITERAL_NET_HOST.fullmatch(text, start, match.start())
        if host is not None:
            ip = parse(host.group(1).replace("-", ":"))
            if ip is not None:
                codes = [_code(ip)]
                yield start, match.end(), [*codes, *_embedded(codes)]
