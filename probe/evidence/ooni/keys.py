"""The ts-017 summary keys of an OONI `web_connectivity` measurement, derived from ours for export.

OONI's pipeline reads `dns_experiment_failure`, `dns_consistency`, `http_experiment_failure`,
`body_length_match`, `body_proportion`, `status_code_match`, `headers_match` and `title_match` at the
top of `test_keys`. They are a coarse summary of what our own rules decided in detail; this module
computes them from the measurement, the control and our verdict, and also turns our fields into
OONI's spellings (integer rcode, resolver address with its port, control_failure as a failure
string). It decides no verdict and reads no files.
"""

from __future__ import annotations

import re
from typing import Any

from probe import failures
from probe.models import Measurement, Verdict
from probe.models.observations import HTTPResponse

JSON = dict[str, Any]

# DNS RCODEs by name (RFC 1035, 2136, 6891): OONI's `rcode` is the number.
RCODES = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5,
          "YXDOMAIN": 6, "YXRRSET": 7, "NXRRSET": 8, "NOTAUTH": 9, "NOTZONE": 10, "BADVERS": 16}
# Headers every server sends: a match on them says nothing about where a page came from (as OONI's
# headers_match compares only the uncommon ones).
_COMMON_HEADERS = frozenset({
    "date", "content-type", "server", "cache-control", "vary", "set-cookie", "location", "expires",
    "x-powered-by", "content-encoding", "last-modified", "accept-ranges", "pragma", "x-frame-options",
    "etag", "x-content-type-options", "age", "via", "p3p", "x-xss-protection", "content-language",
    "cf-ray", "strict-transport-security", "link", "x-varnish", "content-length", "connection",
    "transfer-encoding", "keep-alive", "alt-svc"})
_WORD = re.compile(r"\w+", re.UNICODE)
_KNOWN_FAILURES = frozenset(v for k, v in vars(failures).items()
                            if k.isupper() and isinstance(v, str) and k not in ("RESOLVE", "CONNECT", "READ",
                                                                                  "WRITE", "TLS_HANDSHAKE",
                                                                                  "HTTP_ROUND_TRIP", "SCRUBBED"))
# OONI's body_length_match: the shorter body is at least this share of the longer.
BODY_PROPORTION_MIN = 0.7


def rcode_number(rcode: str | None) -> int | None:
    """OONI's integer rcode from our name ("NXDOMAIN" -> 3); a number given as text stays that number."""
    if rcode is None:
        return None
    if rcode.isdigit():
        return int(rcode)
    return RCODES.get(rcode.upper())


def resolver_with_port(engine: str, address: str) -> str:
    """`ip:53` / `[ipv6]:53` for DNS over UDP, as OONI writes it; other engines' addresses unchanged."""
    if engine != "udp" or not address:
        return address
    if address.startswith("["):
        return address if "]:" in address else f"{address}:53"
    if address.count(":") > 1:
        return f"[{address}]:53"  # a bare IPv6 address
    return address if ":" in address else f"{address}:53"


def is_failure_string(text: str) -> bool:
    """A df-007 failure string: one of OONI's names, or `unknown_failure: ...`."""
    return text in _KNOWN_FAILURES or text.startswith(failures.UNKNOWN_PREFIX) or text.startswith("ssl_") \
        or text.startswith("dns_")


def control_failure(m: Measurement) -> str | None:
    """OONI's `control_failure`: null when the control answered, else a failure string.

    Our own field may hold a note in words ("no control configured", "DNS over HTTPS only"); that
    text is kept under `x_probe_control_note` by the caller, never here.
    """
    text = m.control_failure
    if m.control is not None and m.control.http is not None:
        return None
    if text and is_failure_string(text):
        return text
    if m.control is not None:
        return None  # a DNS-only control answered: OONI has no word for "partly"; the note says it
    return failures.UNKNOWN_PREFIX + (text or "no control")


def dns_experiment_failure(m: Measurement, host: str) -> str | None:
    """The failure of the first lookup of the input's host (OONI: the system resolver's)."""
    for q in m.queries:
        if q.hostname.rstrip(".").lower() == host and q.engine == "getaddrinfo":
            return q.failure
    for q in m.queries:
        if q.hostname.rstrip(".").lower() == host:
            return q.failure
    return None


def http_experiment_failure(m: Measurement) -> str | None:
    """Why the fetch did not complete: the last hop's failure, or the step that stopped it."""
    if m.requests and m.requests[-1].failure:
        return m.requests[-1].failure
    if m.requests and m.requests[-1].response is not None:
        return None
    return m.final_failure


def dns_consistency(m: Measurement, verdict: Verdict | None) -> str | None:
    """consistent / inconsistent from our DNS reading; null when nothing was compared."""
    if verdict is not None and verdict.blocking == "dns":
        return "inconsistent"
    if m.control is None or (m.control.dns.failure is None and not m.control.dns.addresses
                             and not m.queries):
        return None
    return "consistent"


def comparison(m: Measurement) -> JSON:
    """body_length_match, body_proportion, status_code_match, headers_match, title_match (null when
    there is no final response or no control page to compare with)."""
    keys: JSON = {"body_length_match": None, "body_proportion": None, "status_code_match": None,
                  "headers_match": None, "title_match": None}
    ctrl = m.control.http if m.control is not None else None
    final: HTTPResponse | None = m.requests[-1].response if m.requests else None
    if ctrl is None or ctrl.failure is not None or ctrl.status_code is None or final is None:
        return keys
    keys["status_code_match"] = final.code == ctrl.status_code
    if ctrl.body_length is not None:
        longest = max(final.body_length, ctrl.body_length)
        proportion = 1.0 if longest == 0 else min(final.body_length, ctrl.body_length) / longest
        keys["body_proportion"] = round(proportion, 6)
        keys["body_length_match"] = proportion > BODY_PROPORTION_MIN
    ours = {h.name.lower() for h in final.headers} - _COMMON_HEADERS
    theirs = {h.name.lower() for h in ctrl.headers} - _COMMON_HEADERS
    keys["headers_match"] = (not ours and not theirs) or bool(ours & theirs)
    if final.title is not None or ctrl.title is not None:
        keys["title_match"] = _title_words(final.title) == _title_words(ctrl.title)
    return keys


def _title_words(title: str | None) -> list[str]:
    """The first word of five or more characters, as OONI compares titles (an empty list without one)."""
    return [w for w in _WORD.findall((title or "").lower()) if len(w) >= 5][:1]


def uid_and_report(m: Measurement) -> tuple[str, str]:
    """A measurement_uid and report_id in OONI's shapes, made from our own identifiers.

    measurement_uid `YYYYmmddHHMMSS.ffffff_CC_webconnectivity_<16 hex>`; report_id
    `YYYYmmddTHHMMSSZ_webconnectivity_CC_ASN_n1_<16 hex>` (one report per measurement: we have no
    collector to group them). Both are stable: exporting a measurement twice gives the same values.
    """
    t = m.test_start_time.replace("-", "").replace(":", "").replace("T", "").rstrip("Z")
    whole, _, fraction = t.partition(".")
    cc, asn = m.network.probe_cc, m.network.probe_asn.removeprefix("AS") or "0"
    ident = m.measurement_id.replace("-", "")[:16]
    uid = f"{whole}.{fraction.ljust(6, '0')[:6]}_{cc}_webconnectivity_{ident}"
    report = f"{whole[:8]}T{whole[8:14]}Z_webconnectivity_{cc}_{asn}_n1_{ident}"
    return uid, report
