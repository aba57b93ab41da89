"""Body sketches, similarity and titles: the page comparison both vantage points compute identically."""

from __future__ import annotations

import hashlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probe.classify import body_minhash, extract_title, similarity
from probe.classify.http import Page, _similarity
from probe.classify.similarity import MINHASH_SIZE, decode_body, visible_words
from probe.models.control import ControlHTTP
from probe.models.observations import HTTPResponse

PAGE = ("<html><head><title>News</title><script>var x = 'ignored words here';</script></head><body>"
        + " ".join(f"<p>Story {i}: the parliament met on Tuesday to discuss item {i}.</p>" for i in range(60))
        + "</body></html>").encode()
BLOCKPAGE = ("<html><head><title>Доступ ограничен</title></head><body>Доступ к информационному ресурсу "
             "ограничен на основании законодательства.</body></html>").encode()


def test_sketch_is_sorted_bounded_deterministic() -> None:
    sketch = body_minhash(PAGE)
    assert sketch == sorted(sketch)
    assert len(sketch) == MINHASH_SIZE
    assert len(set(sketch)) == len(sketch)
    assert all(0 <= h < 2**63 for h in sketch)
    assert sketch == body_minhash(PAGE)


def test_fixed_values_so_control_helper_and_probe_agree_across_versions() -> None:
    # A change here changes the wire format (ControlHTTP.body_minhash): bump both sides together.
    assert body_minhash(b"one two three four five") == [1598542402489218144, 6300021303384430363]
    assert body_minhash(b"<p>One two</p> <b>three four five</b>") == body_minhash(b"one two three four five")


def test_empty_and_wordless_pages_still_have_a_sketch() -> None:
    assert len(body_minhash(b"")) == 1
    assert body_minhash(b"") == body_minhash(b"<html><body>   </body></html>")


def test_similarity_identical_disjoint_and_edited() -> None:
    assert similarity(body_minhash(PAGE), body_minhash(PAGE)) == 1.0
    assert similarity(body_minhash(PAGE), body_minhash(BLOCKPAGE)) == 0.0
    edited = PAGE.replace(b"Story 7:", b"Breaking story 7:")
    assert similarity(body_minhash(PAGE), body_minhash(edited)) > 0.8


def test_markup_scripts_and_case_do_not_count() -> None:
    restyled = PAGE.replace(b"<p>", b"<p class='x'>").replace(b"ignored words", b"other code").upper()
    assert similarity(body_minhash(PAGE), body_minhash(restyled)) == 1.0


def test_similarity_rejects_missing_sketches() -> None:
    with pytest.raises(ValueError):
        similarity([], body_minhash(PAGE))


WORDS = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=300), st.lists(st.sampled_from(WORDS), max_size=300))
def test_similarity_is_symmetric_and_bounded(a: list[str], b: list[str]) -> None:
    sa, sb = body_minhash(" ".join(a).encode()), body_minhash(" ".join(b).encode())
    assert similarity(sa, sb) == similarity(sb, sa)
    assert 0.0 <= similarity(sa, sb) <= 1.0


def test_large_body_is_fast_enough_for_a_whole_list() -> None:
    body = (b"<p>" + b"word " * 20 + b"</p>") * 5000
    body = body[: 512 * 1024]
    start = time.perf_counter()
    body_minhash(body)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(("body", "title"), [
    (b"<html><head><title>  Hello &amp;\n  World </title></head></html>", "Hello & World"),
    (b"<TITLE lang=en>Upper</TITLE>", "Upper"),
    (b"<title></title>", None),
    (b"<html><body>no title</body></html>", None),
    ("<meta charset=\"windows-1251\"><title>Доступ ограничен</title>".encode("cp1251"), "Доступ ограничен"),
    ("<title>Қазақстан</title>".encode(), "Қазақстан"),
])
def test_extract_title(body: bytes, title: str | None) -> None:
    assert extract_title(body) == title


def test_decode_uses_header_charset_then_meta_then_utf8() -> None:
    text = "Привет".encode("koi8-r")
    assert decode_body(text, "text/html; charset=koi8-r") == "Привет"
    assert "\ufffd" in decode_body(b"\xff\xfe bad", None)


def test_visible_words_skip_comments_and_styles() -> None:
    words = visible_words(b"<style>.a{color:red}</style><!-- hidden --><p>Shown &amp; Seen</p>")
    assert words == ["shown", "seen"]


@pytest.mark.parametrize("body", [b"", b"<p>one</p>", "<title>Сайт</title><p>бір екі үш төрт бес</p>".encode(),
                                  b"<html><script>x</script>" + b"word " * 5000 + b"</html>", bytes(range(256)) * 64])
def test_a_body_identical_to_the_controls_is_judged_without_sketching_it(body: bytes) -> None:
    # The classifier skips our sketch when the control hashed the very same bytes: that is only
    # right if a body's sketch always matches itself exactly.
    digest = hashlib.sha256(body).hexdigest()
    sketch = body_minhash(body)
    assert similarity(sketch, sketch) == 1.0
    page = Page(hop=None, response=HTTPResponse(code=200, headers=[], body_length=len(body),  # type: ignore[arg-type]
                                                body_sha256=digest), body=body, text=None, title=None, authentic=True)
    same = ControlHTTP(status_code=200, body_sha256=digest, body_minhash=sketch)
    assert _similarity(page, same) == similarity(body_minhash(body), sketch) == 1.0
    other = body + b"<p>and one more paragraph of words here</p>"
    differs = ControlHTTP(status_code=200, body_sha256=hashlib.sha256(other).hexdigest(),
                          body_minhash=body_minhash(other))
    assert _similarity(page, differs) == similarity(sketch, body_minhash(other))
    assert _similarity(page, ControlHTTP(status_code=200, body_sha256=digest)) is None  # an older helper: no sketch
