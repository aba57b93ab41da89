"""Every spelling of the volunteer's own address is found and scrubbed; ordinary numbers are not (#18.4).

Given the own addresses (a predicate), the matcher reads each token every way software writes an
address; without one (free text: failure strings, logs) it keeps to literal addresses, so that it
never erases a number that only happens to read as some address.
"""

from __future__ import annotations

import ipaddress

import pytest
from address_spellings import CONTEXTS, NOT_OURS, OWN_V4, OWN_V6, V4_SPELLINGS, V6_SPELLINGS, WIDE, reversed_v4
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from probe.addresses import IPAddress, find, find_bytes, replace, replace_bytes

V4, V6 = ipaddress.IPv4Address(OWN_V4), ipaddress.IPv6Address(OWN_V6)


def own(ip: IPAddress) -> bool:
    return ip in (V4, V6)


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("spelling", V4_SPELLINGS + V6_SPELLINGS)
def test_every_spelling_in_every_context_is_found_and_replaced(spelling: str, context: str) -> None:
    text = context.format(spelling)
    address = V6 if spelling in V6_SPELLINGS else V4
    assert address in find(text, own), text
    scrubbed = replace(text, "[x]", own)
    assert "[x]" in scrubbed and find(scrubbed, own) == [], scrubbed
    data = text.encode()
    assert find_bytes(replace_bytes(data, b"[x]", own), own) == []


@pytest.mark.parametrize("spelling", V4_SPELLINGS + V6_SPELLINGS)
def test_the_whole_spelling_goes_not_just_a_part(spelling: str) -> None:
    scrubbed = replace(f"a {spelling} b", "[x]", own)
    for piece in ("192", "0300", "0xc0", "c000", "3221225986", "2001", "db8", "0.1.0.0.2"):
        if piece.lower() in spelling.lower():
            assert piece.lower() not in scrubbed.lower(), scrubbed


@pytest.mark.parametrize("encoding", WIDE)
@pytest.mark.parametrize("spelling", ["192.0.2.2", "ip-192-0-2-2", "192%2E0%2E2%2E2", "3221225986", OWN_V6])
def test_wide_bodies_are_read_and_stay_decodable(spelling: str, encoding: str) -> None:
    for text in (f"<p>Ваш адрес: {spelling}</p>", spelling, f"{spelling}\n"):
        data = text.encode(encoding)
        assert find_bytes(data, own), (encoding, text)
        scrubbed = replace_bytes(data, b"[scrubbed]", own)
        assert len(scrubbed) == len(data)  # rewritten in place, so the rest keeps its place and alignment
        decoded = scrubbed.decode(encoding)
        assert find(decoded, own) == [] and "[scrub" in decoded and spelling not in decoded, decoded
        assert find_bytes(scrubbed, own) == []


def test_a_wide_fragment_inside_other_bytes_is_found() -> None:
    data = b"\x89PNG\r\n\x1a\n" + "client=192.0.2.2;".encode("utf-16-le") + b"\xff\x00\x10"
    assert find_bytes(data, own) == [V4]
    assert find_bytes(replace_bytes(data, b"[x]", own), own) == []


@pytest.mark.parametrize("text", NOT_OURS)
def test_ordinary_numbers_and_neighbours_are_not_ours(text: str) -> None:
    assert find(text, own) == [] and replace(text, "[x]", own) == text


def test_the_integer_form_counts_only_as_a_whole_token() -> None:
    """The trade-off: an address as one number is scrubbed where it stands alone ("ip=3221225986",
    "3221225986."), never inside a longer number or glued to a word ("id3221225986"), which keeps
    IDs and sizes intact but lets a glued integer through."""
    assert replace("ip=3221225986&n=3221225986.", "[x]", own) == "ip=[x]&n=[x]."
    assert replace("id3221225986 43221225986", "[x]", own) == "id3221225986 43221225986"


def test_without_the_own_addresses_only_literal_addresses_are_replaced() -> None:
    """Failure strings and logs know no own address: a dashed name or a long number stays."""
    text = "ip-192-0-2-2 3221225986 0xC0000202 192.000.002.002 2.2.0.192.in-addr.arpa"
    assert replace(text, "[x]") == "ip-192-0-2-2 3221225986 0xC0000202 192.000.002.002 [x].in-addr.arpa"
    assert replace("Your%20IP%20192.0.2.2 \\u0031\\u0039\\u0032.0.2.2", "[x]") == "Your%20IP%20[x] [x]"


def test_neighbours_of_a_spelling_survive() -> None:
    text = "ip-192-0-2-2, ip-192-0-2-3, 192%2E0%2E2%2E22 and 3221225987"
    assert replace(text, "[x]", own) == "ip-[x], ip-192-0-2-3, 192%2E0%2E2%2E22 and 3221225987"


def test_overlapping_spellings_leave_no_piece_behind() -> None:
    text = "2-2-0-192.in-addr.arpa 2.2.0.192.in-addr.arpa 0xc0.0x00.0x02.0x02.in-addr.arpa"
    assert find(replace(text, "[x]", own), own) == []


# Property-based: spell a random address in a random family, escape some characters, put it in a
# random context and transport; the own address is always found and scrubbed away.

ESCAPES = [
    lambda c: f"%{ord(c):02X}", lambda c: f"%{ord(c):02x}", lambda c: f"\\u{ord(c):04x}",
    lambda c: f"\\x{ord(c):02x}", lambda c: f"&#{ord(c)};", lambda c: f"&#x{ord(c):x};",
]


@st.composite
def v4_spelling(draw: st.DrawFn, ip: ipaddress.IPv4Address) -> str:
    octets = list(ip.packed)
    family = draw(st.sampled_from(["dotted", "padded", "dashed", "arpa", "ptr", "int", "hex", "octal", "inet"]))
    if family == "dotted":
        return str(ip)
    if family == "padded":
        return ".".join(f"{o:0{draw(st.integers(1, 3))}d}" for o in octets)
    if family == "dashed":
        sep = draw(st.sampled_from("-_"))
        return draw(st.sampled_from(["", "ip-", "host_", "static"])) + sep.join(map(str, octets)) + draw(
            st.sampled_from(["", ".example.net", "-static.isp.kz"]))
    if family == "arpa":
        return ".".join(map(str, octets[::-1])) + draw(st.sampled_from([".in-addr.arpa", ".IN-ADDR.ARPA."]))
    if family == "ptr":
        return draw(st.sampled_from("-.")).join(map(str, octets[::-1])) + ".dyn.example.kz"
    if family == "int":
        return str(int(ip))
    if family == "hex":
        return draw(st.sampled_from(["0x{:08x}", "0X{:08X}", "0x{:x}"])).format(int(ip))
    if family == "octal":
        return "0" + format(int(ip), "o")
    parts = [draw(st.sampled_from([str(o), f"0{o:o}" if o else "0", f"0x{o:02x}", f"0X{o:X}"])) for o in octets]
    return ".".join(parts)  # inet_aton: each part decimal, octal or hex


@st.composite
def v6_spelling(draw: st.DrawFn, ip: ipaddress.IPv6Address) -> str:
    family = draw(st.sampled_from(["short", "long", "upper", "arpa", "literal_net", "hex", "int"]))
    if family == "short":
        return str(ip)
    if family == "long":
        return ip.exploded
    if family == "upper":
        return str(ip).upper()
    if family == "arpa":
        return ip.reverse_pointer
    if family == "literal_net":
        return str(ip).replace(":", "-") + ".ipv6-literal.net"
    if family == "hex":
        return f"0x{int(ip):032x}"
    return str(int(ip))


@st.composite
def escaped(draw: st.DrawFn, spelling: str) -> str:
    out = []
    for c in spelling:
        out.append(draw(st.sampled_from(ESCAPES))(c) if draw(st.integers(0, 3)) == 0 else c)
    text = "".join(out)
    if draw(st.booleans()) and "%" in text:
        text = text.replace("%", "%25")  # encoded twice
    return text


V4_ADDRESSES = st.integers(1 << 24, (1 << 32) - 1).map(ipaddress.IPv4Address).filter(
    lambda ip: not ip.is_loopback and not ip.is_unspecified)
V6_ADDRESSES = st.integers(1 << 32, (1 << 128) - 1).map(ipaddress.IPv6Address).filter(
    lambda ip: ip.ipv4_mapped is None and ip.sixtofour is None and ip.teredo is None
    and not ip.is_loopback and ip.scope_id is None and (int(ip) >> 32) != 0x64FF9B << 64)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), v6=st.booleans(), context=st.sampled_from(CONTEXTS + ["ip {}\n", "X-Real-IP: {}\r\n"]),
       transport=st.sampled_from(["utf-8", "latin-1", *WIDE]))
def test_any_spelling_of_an_own_address_is_found_and_scrubbed(data: st.DataObject, v6: bool, context: str,
                                                             transport: str) -> None:
    ip: IPAddress = data.draw(V6_ADDRESSES) if v6 else data.draw(V4_ADDRESSES)
    spelling = data.draw(v6_spelling(ip) if isinstance(ip, ipaddress.IPv6Address) else v4_spelling(ip))
    spelling = data.draw(escaped(spelling))
    body = context.format(spelling).encode(transport)

    def mine(found: IPAddress) -> bool:
        return found == ip

    assert ip in find_bytes(body, mine), body
    scrubbed = replace_bytes(body, b"[scrubbed]", mine)
    assert find_bytes(scrubbed, mine) == [], scrubbed
    assert spelling.encode({"utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(transport, transport)) not in scrubbed


@settings(max_examples=300, deadline=None)
@given(data=st.data(), ours=V4_ADDRESSES, theirs=V4_ADDRESSES)
def test_a_spelling_of_another_address_is_never_ours(data: st.DataObject, ours: ipaddress.IPv4Address,
                                                    theirs: ipaddress.IPv4Address) -> None:
    assume(ours not in (theirs, reversed_v4(theirs)))
    octets = list(theirs.packed)
    spelling = data.draw(st.sampled_from([
        str(theirs), "-".join(map(str, octets)) + ".example.net", "_".join(map(str, octets)), str(int(theirs)),
        f"0x{int(theirs):08x}", ".".join(map(str, octets[::-1])) + ".in-addr.arpa", f"{theirs}".replace(".", "%2E"),
    ]))
    text = f"a {spelling} b"
    assert find(text, lambda ip: ip == ours) == [] and replace(text, "[x]", lambda ip: ip == ours) == text
