"""Pure helpers on HTTP bodies that measuring, the control helper and classifying all share.

One implementation on every side: the engine's title and the control's title come from the same code,
so a page compares equal to itself whatever its charset.
"""

from __future__ import annotations

import codecs
import html
import re

# Only the head of a document can declare its charset (HTML requires it in the first 1024 bytes).
_CHARSET_SCAN_BYTES = 2048
# A title is in the head; scanning further only costs time on large bodies.
_TITLE_SCAN_CHARS = 64 * 1024
_TITLE_MAX_CHARS = 512

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
TAG_RE = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


# Codecs Python knows that no real web page uses and that can produce lone surrogates or act as
# escapes (utf-7 decodes "+2AA-" to U+D800): a page declaring one is read as UTF-8 instead.
_REFUSED_CHARSETS = {"utf_7", "unicode_escape", "raw_unicode_escape", "punycode", "idna", "utf_16", "utf_32",
                     "mbcs", "oem", "charmap"}


def clean_text(text: str) -> str:
    """Text that can always be encoded as UTF-8: lone surrogates become U+FFFD."""
    return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(text) else text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _usable_charset(name: str) -> bool:
    try:
        info = codecs.lookup(name)
    except LookupError:
        return False
    return info.name.replace("-", "_") not in _REFUSED_CHARSETS and getattr(info, "_is_text_encoding", True)


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
        if _usable_charset(name):
            return name
    return None


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Body bytes as text: the declared charset, else UTF-8; undecodable bytes become U+FFFD.

    Both vantage points decode the same way, so a page compares equal to itself whatever its charset.
    """
    charset = declared_charset(body, content_type) or "utf-8"
    try:
        return clean_text(body.decode(charset, errors="replace"))
    except (LookupError, UnicodeError):  # pragma: no cover - declared_charset already checked the codec
        return body.decode("utf-8", errors="replace")


def _clean(text: str) -> str:
    return _SPACE.sub(" ", html.unescape(text)).strip()


def extract_title(body: bytes) -> str | None:
    """The page's <title>, entity-decoded with whitespace collapsed; None when absent or empty."""
    match = _TITLE.search(decode_body(body)[:_TITLE_SCAN_CHARS])
    if not match:
        return None
    title = _clean(TAG_RE.sub(" ", match.group(1)))[:_TITLE_MAX_CHARS]
    return title or None
