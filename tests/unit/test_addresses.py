"""One matcher for IP address literals: every spelling of an address is that address, and nothing
that only looks like one (times, version numbers, C++ scopes) is."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probe.addresses import find, replace, replace_bytes

V4, V6 = ipaddress.ip_address("203.0.113.7"), ipaddress.ip_address("2001:db8:1:2::7")


@pytest.mark.parametrize(("text", "address"), [
    ("203.0.113.7", V4),
    ("seen from 203.0.113.7.", V4),  # the end of a sentence
    ("client.203.0.113.7", V4),  # a PTR-like name
    ("ADDR_203.0.113.7:5050", V4),
    ("::ffff:203.0.113.7", V4),  # IPv4-mapped is the IPv4 address it carries
    ("2001:db8:1:2:0:0:0:7", V6),  # not compressed
    ("2001:DB8:1:2::0:7", V6),  # upper case, partly compressed
    ("2001:0db8:0001:0002:0000:0000:0000:0007", V6),  # exploded
    ("q=2001%3Adb8%3A1%3A2%3A%3A7&x", V6),  # percent-encoded in a query string
    ("[2001:db8:1:2::7]:443", V6),
    ("REMOTE_ADDR:2001:db8:1:2::7", V6),  # glued to a name by a colon
    ("IPv6:2001:db8:1:2::7", V6),
    ("\\n2001:db8:1:2::7", V6),  # after a JSON escape
    ("ip%3D2001%3Adb8%3A1%3A2%3A%3A7", V6),  # after a percent escape
    ("Your%20IP%20203.0.113.7", V4),
])
def test_every_spelling_is_the_address(text: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert find(text) == [address]
    assert "[x]" in replace(text, "[x]") and str(address) not in replace(text, "[x]")


@pytest.mark.parametrize("text", ["client ::203.0.113.7", "64:ff9b::203.0.113.7", "::ffff:0:203.0.113.7"])
def test_an_ipv4_address_inside_an_ipv6_form_is_that_ipv4_address_too(text: str) -> None:
    assert V4 in find(text)
    assert replace(text, "[x]", lambda ip: ip == V4).endswith("[x]")


@pytest.mark.parametrize("text", [
    "12:30:45", "1.2.3.4.5", "version 1.2.3", "256.1.1.1", "01.2.3.4", "std::vector", "a :: b", "0.0.0.0",
    "a:hover{color:red}", "deadbeef", "ab:cd:ef in an identifier", "x:y:z", "deadbeef::cafe:1",
])
def test_things_that_only_look_like_addresses_are_left_alone(text: str) -> None:
    assert find(text) == [] and replace(text, "[x]") == text


def test_only_wanted_addresses_are_replaced_and_neighbours_survive() -> None:
    text = "ours 203.0.113.7, theirs 203.0.113.70 and 1203.0.113.7 and 198.51.100.1"
    expected = "ours [x], theirs 203.0.113.70 and 1203.0.113.7 and 198.51.100.1"
    assert replace(text, "[x]", lambda ip: ip == V4) == expected


def test_bytes_keep_every_other_byte() -> None:
    data = "é 203.0.113.7 ü".encode() + b"\xff\x00"
    assert replace_bytes(data, b"[x]") == "é [x] ü".encode() + b"\xff\x00"
    assert replace_bytes(b"nothing here", b"[x]") == b"nothing here"


@given(st.text(alphabet="0123456789abcdefABCDEF:.%3[] x", max_size=80))
def test_never_raises_and_replacing_twice_changes_nothing_more(text: str) -> None:
    once = replace(text, "[x]")
    assert replace(once, "[x]") == once


def test_a_repeated_string_is_asked_about_again_with_each_predicate() -> None:
    # Short strings' readings are cached across calls; what is wanted must not be.
    text = "from 203.0.113.7 via 2001:db8:1:2::7"
    assert replace(text, "[x]", lambda ip: ip == V4) == "from [x] via 2001:db8:1:2::7"
    assert replace(text, "[x]", lambda ip: ip == V6) == "from 203.0.113.7 via [x]"
    assert replace(text, "[x]", lambda ip: False) is text
    assert find(text) == [V4, V6]


@pytest.mark.parametrize("text", ["GET", "text/html", "a:b", "generic_timeout_error", "", "Ä ö"])
def test_text_with_no_digit_escape_or_double_colon_is_returned_as_is(text: str) -> None:
    assert replace(text, "[x]") is text and replace(text, "[x]", lambda ip: True) is text
