"""How the helper reads a URL and a redirect: as a browser does, and always ASCII on the wire."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from probe.control.server.fetch import browser_location, parse_target
from probe.net import fetch as probe_fetch
from probe.web import location


def test_browser_location_is_the_engines_function_importable_without_side_effects() -> None:
    assert browser_location is location.browser_location is probe_fetch.browser_location  # helper and probe alike
    code = "import probe.control.server.fetch as f; print(f.browser_location('https://a.kz/x', '/ю ю'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "https://a.kz/%D1%8E%20%D1%8E\n" and out.stderr == ""


@pytest.mark.parametrize(("url", "host", "port", "target", "host_header"), [
    ("https://site.test/", "site.test", 443, "/", "site.test"),
    ("  HTTP://Site.Test:8080  ", "site.test", 8080, "/", "site.test:8080"),
    ("https://пример.рф/путь к?q=ю ю#frag", "xn--e1afmkfd.xn--p1ai", 443,
     "/%D0%BF%D1%83%D1%82%D1%8C%20%D0%BA?q=%D1%8E%20%D1%8E", "xn--e1afmkfd.xn--p1ai"),
    ("http://[2001:DB8::1]:81/a|b{c}?x=%41&y", "2001:db8::1", 81, "/a|b{c}?x=%41&y", "[2001:db8::1]:81"),
    ("http://1.2.3.4:65535/", "1.2.3.4", 65535, "/", "1.2.3.4:65535"),
])
def test_targets_are_read_like_a_browser_and_sent_as_ascii(url: str, host: str, port: int, target: str,
                                                           host_header: str) -> None:
    parsed = parse_target(url)
    assert parsed is not None
    assert (parsed.host, parsed.port, parsed.request_target, parsed.host_header) == (host, port, target, host_header)
    assert parsed.url == url.strip()  # final_url echoes what was asked


@pytest.mark.parametrize("url", [
    "http://x:0/", "http://x:99999/", "http://x:-1/", "http://x:8o/", "http://[::1", "http://[::1/x",
    "http://" + "a" * 64 + ".kz/", "http://a..b/", "ftp://x/", "javascript:alert(1)", "http:///p", "x", "",
])
def test_unusable_urls_are_refused(url: str) -> None:
    assert parse_target(url) is None


@given(st.text(max_size=120))
def test_never_raises_and_the_wire_stays_ascii(tail: str) -> None:
    for url in (tail, "http://" + tail, "https://site.test/" + tail):
        target = parse_target(url)
        if target is not None:
            assert target.request_target.isascii() and target.host_header.isascii() and target.host.isascii()
            assert not any(c in target.request_target for c in " \r\n\t\x00")
