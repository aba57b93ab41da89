"""The needle screen of regexp fingerprints and the header rows' plan: they skip work, never a match."""

from __future__ import annotations

import base64
import json
import random
import re
from pathlib import Path

import pytest

from probe.classify import load_fingerprints
from probe.classify.fingerprints import CENSOR, FP_SCOPE, SITE_SCOPE, SPECIAL_SCOPES, TAKEDOWN_SCOPE
from probe.classify.needles import needle
from probe.models import HTTPHeader
from probe.web.html import decode_body

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(("pattern", "text"), [
    ("abcdef", "abcdef"),
    ("ab*cdef", "cdef"),  # a quantified character is not required
    ("x{2}yzw", "yzw"),  # nor is a counted one; its count is no text
    (r"\.com\b", ".com"),  # an escaped punctuation character is itself
    (r"\d\d\dabcd", "abcd"),  # a class escape ends a stretch
    ("(ab)?cdef", "cdef"),  # a group's text is never required here
    ("a(?=b)cdef", "cdef"),
    ("[a]]bcde", "bcde"),  # a class, then a "]" (read as not plain: fine, only shorter)
    (r"[\]x]yyyy", "yyyy"),
    ("(?i)(?:not|isn't) available in your country", " available in your country"),
    ("ab{x", None),  # a "{" with no "}": what came before it only ("a": too short)
])
def test_the_required_text_is_read_off_the_top_level(pattern: str, text: str | None) -> None:
    found = needle(re.compile(pattern))
    assert (found.text if found else None) == text


@pytest.mark.parametrize("pattern", ["a|bcdef", "(?:a|b)|cdef", "(?x)abc def", "ab", r"\w+\s+"])
def test_no_needle_where_no_text_is_required_or_it_is_not_worth_testing(pattern: str) -> None:
    assert needle(re.compile(pattern)) is None


@pytest.mark.parametrize("text", ["KİSS ME", "kıss me", "a kiſs me", "KISS ME", "kiss  me", "Kiss Me!", "no"])
def test_case_insensitive_needles_follow_re_own_case_rules(text: str) -> None:
    """re folds dotless ı, long ſ and İ into i / s: a needle must not say no where re says yes."""
    regex = re.compile("(?i)kiss me")
    found = needle(regex)
    assert found is not None
    assert found.in_text(text) is (regex.search(text) is not None)


def _texts() -> list[str]:
    """Golden bodies, with each shipped regexp's needle planted, cased every way, in some of them."""
    texts: list[str] = []
    for path in sorted(GOLDEN.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        texts += [decode_body(base64.b64decode(b)) for b in case["bodies"].values()]
    rng = random.Random(15)
    fps = load_fingerprints(None)
    planted = []
    for fp in fps.http:
        if fp.needle is None:
            continue
        for spelling in (fp.needle.text, fp.needle.text.upper(), fp.needle.text.title()):
            base = rng.choice(texts)
            cut = rng.randrange(len(base) + 1)
            planted.append(base[:cut] + spelling + base[cut:])
    samples = ["not available in your country", "This site is NOT AVAILABLE IN YOUR REGION",
               "<title>Account Suspended</title>", "this web site account has been suspended",
               "<TITLE>домен продаётся</TITLE>", "This domain has been seized"]
    return texts + planted + samples


def test_shipped_regexps_match_exactly_as_without_their_needles() -> None:
    fps = load_fingerprints(None)
    regexps = [fp for fp in fps.http if fp.regex is not None]
    assert sum(fp.needle is not None for fp in regexps) >= 15
    for text in _texts():
        lowered = text.lower() if text.isascii() else None
        for fp in regexps:
            assert fp.regex is not None
            assert fp.matches(text, lowered) is (fp.regex.search(text) is not None), (fp.name, text[:80])


def test_header_rows_match_exactly_as_one_by_one() -> None:
    """Full, prefix and contains header rows go by look-ups and substring tests; each still matches once."""
    fps = load_fingerprints(None)
    values = ["", "  ", "http://example.com/"]
    for fp in fps.http:
        if fp.header_name:
            p = fp.pattern
            values += [p, f" {p} ", p + "/x", "x" + p, p[:-1], p.upper()]
    names = {fp.header_name for fp in fps.http if fp.header_name}
    for group in (None, CENSOR, FP_SCOPE, SITE_SCOPE, TAKEDOWN_SCOPE):
        rows = [fp for fp in fps.http if group is None or
                (fp.scope if fp.scope in SPECIAL_SCOPES else CENSOR) == group]
        for name in names:
            for value in values:
                headers = [HTTPHeader(name=name.title(), value=value), HTTPHeader(name=name, value="zz")]
                got = fps.match_http(headers=headers, body_text=None, group=group)
                expected = [fp for fp in rows if fp.header_name == name and (fp.matches(value) or fp.matches("zz"))]
                assert got == expected, (group, name, value)
