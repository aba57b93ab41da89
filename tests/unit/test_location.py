"""Redirect targets resolved as a browser would, and refused when a browser could not follow them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probe.web.location import browser_location

BASE = "https://selftanu.kz/a/b"


@pytest.mark.parametrize(("location", "expected"), [
    ("/x", "https://selftanu.kz/x"),
    ("c?d=1", "https://selftanu.kz/a/c?d=1"),
    ("//who.int/p", "https://who.int/p"),
    ("http://WHO.int:8080/", "http://who.int:8080/"),
    ("https://ex.kz/путь?q=ю", "https://ex.kz/%D0%BF%D1%83%D1%82%D1%8C?q=%D1%8E"),
    ("https://ex.kz/путь".encode().decode("latin-1"), "https://ex.kz/%D0%BF%D1%83%D1%82%D1%8C"),  # as h11 gives it
    ("/caf\xe9?q=\xe9", "https://selftanu.kz/caf%E9?q=%E9"),  # raw latin-1 bytes: escaped once, as sent
    ("/\xef\xf0", "https://selftanu.kz/%EF%F0"),  # cp1251 "пр": not UTF-8, so byte for byte
    ("https://пример.рф/", "https://xn--e1afmkfd.xn--p1ai/"),
    ("http://[fd77::1]:8080/a b", "http://[fd77::1]:8080/a%20b"),
    ("/a%20b?x=%41", "https://selftanu.kz/a%20b?x=%41"),
])
def test_followed_like_a_browser(location: str, expected: str) -> None:
    assert browser_location(BASE, location) == expected


@pytest.mark.parametrize("location", [
    "http://x:99999/", "http://x:abc/", "http://[::1/x", "http://" + "a" * 64 + ".kz/", "http://a..b.com/",
    "ftp://who.int/", "javascript:alert(1)", "http:///nohost", "http://:80/",
])
def test_refused_when_a_browser_could_not_follow(location: str) -> None:
    assert browser_location(BASE, location) is None


@given(st.text(max_size=200))
def test_never_raises_and_is_ascii(location: str) -> None:
    result = browser_location(BASE, location)
    assert result is None or result.isascii()
