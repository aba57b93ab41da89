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

from probe.web.html import TAG_RE, declared_charset, decode_body, extract_title

__all__ = ["body_minhash", "declared_charset", "decode_body", "extract_title", "similarity", "visible_words"]

# One hash per shingle and keeping the k smallest (bottom-k) costs O(n) blake2b calls, which keeps a
# 512 KiB body under ~0.1 s; k independent hash functions would cost k times that in pure Python.
MINHASH_SIZE = 64
SHINGLE_WORDS = 4  # word 4-shingles: short enough for small pages, long enough to ignore word reuse
_HASH_MASK = (1 << 63) - 1  # 63 bits: fits a signed 64-bit integer in SQLite, JSON readers, Go
_SHINGLE_SEP = "\x1f"

_INVISIBLE = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>|<!--.*?-->",
                        re.IGNORECASE | re.DOTALL)
_WORD = re.compile(r"\w+")


def visible_words(body: bytes) -> list[str]:
    """Lower-cased words of the text a reader would see: scripts, styles, comments and tags removed."""
    text = TAG_RE.sub(" ", _INVISIBLE.sub(" ", decode_body(body)))
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
        # The same shingles as joining words[i:i + 4] for each i, without a list slice per word.
        shingles = set(map(_SHINGLE_SEP.join, zip(*(words[k:] for k in range(SHINGLE_WORDS)), strict=False)))
    return sorted(heapq.nsmallest(MINHASH_SIZE, set(map(_hash, shingles))))


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
