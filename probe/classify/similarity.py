"""Page text, titles and body similarity: what lets two vantage points compare pages without shipping them.

`body_minhash` turns an HTML body into a small sketch (the 64 smallest 63-bit hashes of its visible
text's word 4-shingles: a "bottom-k" MinHash); `similarity` estimates the Jaccard similarity of two
bodies from their sketches alone. The control helper sends its sketch (`ControlHTTP.body_minhash`),
so both sides must compute it with this exact code: any change here is a wire-format change.
`extract_title` reads the `<title>`. Pure functions, stdlib only; no network, no clock.
This module does not decide anything: thresholds live in `context.py`, decisions in `http.py`.
"""

from __future__ import annotations

import hashlib
import heapq
import html
import re
from collections.abc import Sequence

# One hash per shingle and keeping the k smallest (bottom-k) costs O(n) blake2b calls, which keeps a
# 512 KiB body under ~0.1 s; k independent hash functions would cost k times that in pure Python.
MINHASH_SIZE = 64
SHINGLE_WORDS = 4  # word 4-shingles: short enough for small pages, long enough to ignore word reuse
_HASH_MASK = (1 << 63) - 1  # 63 bits: fits a signed 64-bit integer in SQLite, JSON readers, Go
_SHINGLE_SEP = "\x1f"

# Only the head of a document can declare its charset (HTML requires it in the first 1024 bytes).
_CHARSET_SCAN_BYTES = 2048
# A title is in the head; scanning further only costs time on large bodies.
_TITLE_SCAN_CHARS = 64 * 1024
_TITLE_MAX_CHARS = 512

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_INVISIBLE = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>|<!--.*?-->",
                        re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


def declared_charset(body: bytes, content_type: str | None = None) -> str | None:
    """The charset a Content-Type header or an HTML <meta> declares, if Python knows it."""
    candidates: list[str] = []
    if content_type:
        match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", content_type, re.IGNORECASE)
        if match:
            candidates.append(match.group(1))
    meta = _META_CHARSET.search(body[:_CHARSET_SCAN_BYTES])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "replace"))
    for name in candidates:
        try:
            "".encode(name)
        except LookupError:
            continue
        return name
    return None


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Body bytes as text: the declared charset, else UTF-8; undecodable bytes become U+FFFD.

    Both vantage points decode the same way, so a page compares equal to itself whatever its charset.
    """
    charset = declared_charset(body, content_type) or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # pragma: no cover - declared_charset already checked the codec exists
        return body.decode("utf-8", errors="replace")


def _clean(text: str) -> str:
    return _SPACE.sub(" ", html.unescape(text)).strip()


def extract_title(body: bytes) -> str | None:
    """The page's <title>, entity-decoded with whitespace collapsed; None when absent or empty."""
    match = _TITLE.search(decode_body(body)[:_TITLE_SCAN_CHARS])
    if not match:
        return None
    title = _clean(_TAG.sub(" ", match.group(1)))[:_TITLE_MAX_CHARS]
    return title or None


def visible_words(body: bytes) -> list[str]:
    """Lower-cased words of the text a reader would see: scripts, styles, comments and tags removed."""
    text = _TAG.sub(" ", _INVISIBLE.sub(" ", decode_body(body)))
    return _WORD.findall(html.unescape(text).lower())


def _hash(shingle: str) -> int:
    digest = hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _HASH_MASK


def body_minhash(body: bytes) -> list[int]:
    """The bottom-k MinHash sketch of a body's visible text: ascending, at most 64 distinct ints.

    Never empty: a page without words is sketched as the one empty shingle, so an empty list always
    means "no sketch" (e.g. an older control helper) and never "an empty page".
    """
    words = visible_words(body)
    if len(words) < SHINGLE_WORDS:
        shingles = {_SHINGLE_SEP.join(words)}
    else:
        shingles = {_SHINGLE_SEP.join(words[i:i + SHINGLE_WORDS])
                    for i in range(len(words) - SHINGLE_WORDS + 1)}
    return sorted(heapq.nsmallest(MINHASH_SIZE, {_hash(s) for s in shingles}))


def similarity(a_minhash: Sequence[int], b_minhash: Sequence[int]) -> float:
    """Estimated Jaccard similarity (0.0-1.0) of two bodies from their `body_minhash` sketches.

    The k smallest hashes of the union are a uniform sample of the union; the share of that sample
    present in both sketches estimates |A ∩ B| / |A ∪ B| (exact when both pages are short).
    """
    if not a_minhash or not b_minhash:
        raise ValueError("similarity needs two non-empty body_minhash sketches")
    a, b = set(a_minhash), set(b_minhash)
    union_sample = heapq.nsmallest(MINHASH_SIZE, a | b)
    shared = sum(1 for h in union_sample if h in a and h in b)
    return shared / len(union_sample)
