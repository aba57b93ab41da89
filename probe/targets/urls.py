"""URL checks and the one normal form every target URL is written and compared in.

Normal form: scheme and host lower-case, internationalised host names in punycode (IDNA 2008 with
UTS #46 mapping), IP literals in canonical form, default port dropped, empty path written as "/",
non-ASCII characters in path and query percent-encoded (UTF-8), fragment dropped (it is never sent to
the server, so it never changes what is measured).

Duplicate detection uses `url_key`, which also treats "/path/" and "/path" as the same target.

Only http and https URLs with a public-looking host are accepted: `javascript:`, `file:`, bare host
names without a scheme, credentials in the URL, whitespace and control characters are refused with an
`InputError` that says how to write the URL instead. This module does no I/O and no DNS.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit

import idna

from probe.errors import InputError
from probe.i18n import _
from probe.net.scope import private_target

__all__ = ["private_target"]  # where lists and the CLI look for it

MAX_URL_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# whitespace, control characters, backslash and invisible Unicode spaces
_BAD_CHAR = re.compile(r"[\x00-\x20\x7f\\\u0085\u00a0\u1680\u2000-\u200b"
                       r"\u2028\u2029\u202f\u205f\u3000\ufeff]")
# Printable ASCII stays as written; only non-ASCII is percent-encoded.
_SAFE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))


def normalise_url(url: str) -> str:
    """The normal form of `url`, or `InputError` saying what is wrong and how to write it instead."""
    _check_characters(url)
    scheme = _scheme_of(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(_("malformed URL {url}: {problem}").format(url=repr(url), problem=exc),
                         hint=_("write it as https://host/path")) from exc
    if parts.username is not None or parts.password is not None:
        raise InputError(_("URL {url} contains a user name or password").format(url=repr(url)),
                         hint=_("remove the 'user:password@' part; never list credentials"))
    host = normalise_host(parts.hostname or "", url)
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    if port == 0:
        raise InputError(_("URL {url} has port 0").format(url=repr(url)), hint=_("remove ':0' or give the real port"))
    path = quote(parts.path, safe=_SAFE_ASCII) or "/"
    query = quote(parts.query, safe=_SAFE_ASCII)
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def _check_characters(url: str) -> None:
    if not url:
        raise InputError(_("empty URL"), hint=_("give a URL such as https://example.org/"))
    if len(url) > MAX_URL_LENGTH:
        raise InputError(_("URL is {length} characters long; at most {limit} are accepted").format(
            length=len(url), limit=MAX_URL_LENGTH), hint=_("list a shorter URL for the same site"))
    bad = _BAD_CHAR.search(url)
    if bad:
        what = _("URL {url} contains a space") if bad.group() == " " else _(
            "URL {url} contains the character {character}")
        raise InputError(what.format(url=repr(_clip(url)), character=repr(bad.group())),
                         hint=_("percent-encode it (a space is %20) or remove it"))


def _scheme_of(url: str) -> str:
    scheme, sep, rest = url.partition(":")
    if not sep or not _SCHEME.fullmatch(scheme) or (scheme.isalpha() and len(scheme) == 1):
        raise InputError(_("URL {url} has no scheme").format(url=repr(_clip(url))),
                         hint=_("write {https} or {http}").format(https=f"https://{url.lstrip('/')}",
                                                                 http=f"http://{url.lstrip('/')}"))
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InputError(_("URL {url} has the scheme '{scheme}:'; only http and https URLs can be measured").format(
            url=repr(_clip(url)), scheme=scheme), hint=_("list the site's http:// or https:// address instead"))
    if not rest.startswith("//"):
        raise InputError(_("URL {url} has no host").format(url=repr(_clip(url))),
                         hint=_("write {example}").format(example=f"{scheme}://host/path"))
    return scheme


def normalise_host(host: str, url: str = "") -> str:
    """Lower-case, punycode, canonical IP literal; `InputError` if it is not a public-looking host."""
    where = url or host
    if not host:
        raise InputError(_("URL {url} has no host").format(url=repr(_clip(where))),
                         hint=_("write it as https://host/path"))
    if ":" in host:
        return f"[{_ip_literal(host, where)}]"
    host = host.rstrip(".")
    if re.fullmatch(r"[0-9.]+", host):
        return _ip_literal(host, where)
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise InputError(_("host {host} in {url} is not a valid domain name: {problem}").format(
                host=repr(host), url=repr(_clip(where)), problem=exc),
                hint=_("check the spelling of the host name")) from exc
    labels = host.lower().split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise InputError(_("host {host} in {url} is not a valid public domain name").format(
            host=repr(host), url=repr(_clip(where))), hint=_("use the full domain name, such as www.example.org"))
    if len(host) > 253:
        raise InputError(_("host name in {url} is longer than 253 characters").format(url=repr(_clip(where))),
                         hint=_("check the URL"))
    return ".".join(labels)


def _ip_literal(host: str, where: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError as exc:
        raise InputError(_("host {host} in {url} is not a valid IP address or domain name").format(
            host=repr(host), url=repr(_clip(where))),
            hint=_("write a domain name or a dotted IPv4 / bracketed IPv6 address")) from exc
    return address.compressed


def url_key(normalised: str) -> str:
    """The identity used to find duplicates: the normal form without a trailing slash on the path."""
    base, sep, query = normalised.partition("?")
    scheme_end = base.index("//") + 2
    path_start = base.find("/", scheme_end)
    if path_start != -1 and len(base) - path_start > 1:
        base = base.rstrip("/") or base
    return base + sep + query


def https_twin(key: str) -> str | None:
    """For an http:// key, the key of the same URL over https; None for https URLs."""
    return "https://" + key[len("http://"):] if key.startswith("http://") else None


def host_of(normalised: str) -> str:
    """The host of a normal-form URL (IPv6 literals keep their brackets)."""
    authority = re.split(r"[/?]", normalised.split("//", 1)[1], maxsplit=1)[0]
    if authority.startswith("["):
        return authority[: authority.index("]") + 1]
    return authority.partition(":")[0]


def sort_key(url: str) -> tuple[str, str]:
    """Citizen Lab's order: by the URL after '//' (host, then path), then by scheme."""
    scheme, _sep, rest = url.partition("//")
    return (rest, scheme) if rest else (url, "")


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

