"""Small pure helpers on HTTP bodies that both measuring and classifying need."""

from __future__ import annotations

import html
import re

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


def extract_title(body: bytes, *, max_len: int = 256) -> str | None:
    """The document's <title>, whitespace-collapsed and unescaped, or None."""
    match = _TITLE.search(body[: 256 * 1024])
    if not match:
        return None
    text = match.group(1).decode("utf-8", errors="replace")
    return " ".join(html.unescape(text).split())[:max_len] or None
