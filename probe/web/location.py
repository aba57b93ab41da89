"""Where a redirect leads, resolved as a browser would: relative to the current URL, with raw bytes
percent-encoded and a non-ASCII host in IDNA form. Pure; no network. It lives with
the models because the engine, the control helper and classification must all follow a redirect the
same way (classification may import models only).

h11 hands header values over as latin-1 text, so a Location holding raw UTF-8 (common on .kz and .ru
sites) arrives as mojibake; re-encoding it to latin-1 gives the original bytes back, and those are
what a browser percent-encodes. Bytes that are not UTF-8 (a latin-1 or cp1251 Location) are
percent-encoded as they are, one escape per byte, not re-encoded as UTF-8. Anything a browser
could not follow (no host, not http(s), a port outside 1–65535, an unparseable authority) gives None.
"""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit, urlunsplit

# What may stay as it is in a path or query (RFC 3986 reserved + unreserved, and '%' for escapes
# the server already made).
_SAFE = "/?#[]@!$&'()*+,;=:-._~%"


def _unmangle(text: str) -> tuple[str, str]:
    """Raw bytes that h11 decoded as latin-1 → (text, the encoding that gives those bytes back).

    UTF-8 bytes become the text they really are; other bytes stay latin-1 text, so percent-encoding
    it as latin-1 escapes each original byte. Text beyond latin-1 did not come from the wire: UTF-8.
    """
    if text.isascii():
        return text, "utf-8"
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return text, "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return text, "latin-1"


def _idna_host(host: str) -> str | None:
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def browser_location(base_url: str, location: str) -> str | None:
    """The absolute URL a Location header points to, or None when a browser could not follow it."""
    try:
        text, encoding = _unmangle(location.strip())
        parts = urlsplit(urljoin(base_url, text))
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = _idna_host(parts.hostname)
    if host is None or any(len(label) > 63 or not label for label in host.rstrip(".").split(".")):
        return None
    if port == 0:
        return None  # "reserved": no server listens there, and a browser refuses it too
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    try:
        path = quote(parts.path or "/", safe=_SAFE, encoding=encoding)
        query = quote(parts.query, safe=_SAFE, encoding=encoding)
    except UnicodeError:  # a lone surrogate cannot be percent-encoded: no browser could send it
        return None
    return urlunsplit((parts.scheme, netloc, path, query, ""))
