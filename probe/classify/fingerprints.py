"""Fingerprints of censors and look-alikes, in OONI's blocking-fingerprints CSV format.

Columns: name, scope, other_names, location_found, pattern_type, pattern, confidence_no_fp,
expected_countries, source, exp_url, notes. Every `*.csv` in a folder is read and each row is used by
its `location_found`: `dns` (a censor's answer address), `body` / `header.<name>` (HTTP blockpages),
and our extension `tls.issuer` (the issuer of an interception CA). Scopes keep their upstream
meaning (`isp`, `nat`, `prod`, `inst`, `vbw`, ...), except three that change what a match means:
`fp` (upstream) marks a page known NOT to be a blockpage, `site` (ours) marks a page the site or
its CDN serves by itself (CAPTCHA, bot check, geo-block), and `takedown` (ours) marks a page served to
everyone in place of the site: a host's suspension page, a seizure banner, a parking page.

Loading reads files (`load_fingerprints`); matching is pure. Rows that cannot be used (unknown
location, bad regex, bad address) are kept as warnings, never dropped silently. This module does not
decide verdicts: `http.py`, `dns.py` and `tcp_tls.py` do.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from probe.classify.needles import Needle, needle
from probe.models.observations import HTTPHeader

FP_SCOPE = "fp"
SITE_SCOPE = "site"
TAKEDOWN_SCOPE = "takedown"  # served to everyone in place of the site: `site.takedown`, never `http.blockpage`
VAGUE_SCOPE = "vbw"  # upstream: a vague blocking word ("Access Denied"), weaker than a blockpage's markup
SPECIAL_SCOPES = (FP_SCOPE, SITE_SCOPE, TAKEDOWN_SCOPE)
CENSOR = "censor"  # the group of every other scope: a censor's (or a filtering product's) blockpage
COLUMNS = ("name", "scope", "other_names", "location_found", "pattern_type", "pattern",
           "confidence_no_fp", "expected_countries", "source", "exp_url", "notes")
PATTERN_TYPES = ("contains", "prefix", "full", "regexp")
# Blockpages are small, and a censor's page is the whole body: looking past the first 128 Ki
# characters only costs time (1,300 patterns per body) without finding more blockpages.
BODY_SCAN_CHARS = 128 * 1024


@dataclass(frozen=True)
class Fingerprint:
    name: str
    scope: str
    location: str  # "dns", "body", "header.<lower-case name>", "tls.issuer"
    pattern_type: str
    pattern: str
    confidence: int = 5
    countries: tuple[str, ...] = ()
    notes: str = ""
    source_file: str = ""
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    # Text every match of `regex` contains: where it is missing the regexp is not run (needles.py).
    needle: Needle | None = field(default=None, compare=False, repr=False)

    def matches(self, value: str, lowered: str | None = None) -> bool:
        """Whether `value` matches; `lowered` is `value.lower()` when the caller made it already."""
        if self.pattern_type == "contains":
            return self.pattern in value
        if self.pattern_type == "prefix":
            return value.startswith(self.pattern)
        if self.pattern_type == "full":
            return value.strip() == self.pattern.strip()
        if self.regex is None or (self.needle is not None and not self.needle.in_text(value, lowered)):
            return False
        return self.regex.search(value) is not None

    @property
    def header_name(self) -> str | None:
        return self.location[len("header."):] if self.location.startswith("header.") else None

    def describe(self) -> str:
        """`name` plus what it is, for a reason sentence."""
        what = self.notes.strip().rstrip(".")
        return f"{self.name} ({what})" if what else self.name


@dataclass(frozen=True)
class Fingerprints:
    http: tuple[Fingerprint, ...] = ()
    dns: Mapping[str, Fingerprint] = field(default_factory=dict)  # by address or CNAME target
    tls_issuer: tuple[Fingerprint, ...] = ()
    warnings: tuple[str, ...] = ()
    digest: str = ""  # SHA-256 over the loaded files' names and bytes (part of rules_version)

    def match_dns(self, value: str) -> Fingerprint | None:
        """The fingerprint of an answer: an address, or the target name of a CNAME."""
        return self.dns.get(_normal_ip(value) or _normal_name(value))

    @cached_property
    def _groups(self) -> dict[str | None, _Plan]:
        def group(fp: Fingerprint) -> str:
            return fp.scope if fp.scope in SPECIAL_SCOPES else CENSOR
        plans: dict[str | None, _Plan] = {g: _plan(tuple(f for f in self.http if group(f) == g))
                                          for g in (CENSOR, *SPECIAL_SCOPES)}
        plans[None] = _plan(self.http)
        return plans

    def match_http(self, *, headers: Sequence[HTTPHeader], body_text: str | None,
                   group: str | None = None) -> list[Fingerprint]:
        """Every body/header fingerprint (of one group: censor, fp, site or takedown; default all) the response matches.

        Body rows are tried only when a body is given (a pruned body matches nothing). In the order
        of the files' rows.
        """
        plan = self._groups[group]
        hit: set[int] = set()  # a row matches once, however many of its header's values it matches
        for header in headers:
            rows = plan.headers.get(header.name.lower())
            if rows is not None:
                rows.match(header.value, hit)
        found = list(hit)
        if body_text is not None:
            text = body_text[:BODY_SCAN_CHARS]
            found += [i for i, pattern in plan.contains if pattern in text]
            lowered = text.lower() if plan.other_body and text.isascii() else None  # shared by the needles
            found += [i for i, fp in plan.other_body if fp.matches(text, lowered)]
        return [plan.rows[i] for i in sorted(found)]

    def match_issuer(self, issuers: Iterable[str | None]) -> Fingerprint | None:
        names = [i for i in issuers if i]
        for fp in self.tls_issuer:
            if any(fp.matches(n) for n in names):
                return fp
        return None


@dataclass(frozen=True)
class _Plan:
    """One group's HTTP rows arranged for matching: 1,300 body rows are tried on every response, so
    the common "contains" rows are a bare substring test, and header rows are tried only for the
    headers a response has. Positions index `rows`, so matches come back in the rows' order."""

    rows: tuple[Fingerprint, ...]
    headers: Mapping[str, _HeaderRows]
    contains: tuple[tuple[int, str], ...]
    other_body: tuple[tuple[int, Fingerprint], ...]


@dataclass(frozen=True)
class _HeaderRows:
    """One header name's rows by how they match (376 `Location` rows are tried on every redirect):
    `full` rows are one dict look-up of the stripped value, `prefix` rows one look-up per distinct
    pattern length, `contains` rows a bare substring test; only regexps are tried one by one. Each
    test is the one `Fingerprint.matches` makes, so the same rows match."""

    full: Mapping[str, tuple[int, ...]]  # stripped pattern → rows
    prefix: Mapping[int, Mapping[str, tuple[int, ...]]]  # pattern length → pattern → rows
    contains: tuple[tuple[int, str], ...]
    regexps: tuple[tuple[int, Fingerprint], ...]

    def match(self, value: str, found: set[int]) -> None:
        """Add the positions of the rows `value` matches to `found`."""
        found.update(self.full.get(value.strip(), ()))
        for length, patterns in self.prefix.items():
            found.update(patterns.get(value[:length], ()))
        found.update(i for i, pattern in self.contains if pattern in value)
        found.update(i for i, fp in self.regexps if fp.matches(value))


def _header_rows(rows: list[tuple[int, Fingerprint]]) -> _HeaderRows:
    full: dict[str, list[int]] = {}
    prefix: dict[int, dict[str, list[int]]] = {}
    contains: list[tuple[int, str]] = []
    regexps: list[tuple[int, Fingerprint]] = []
    for i, fp in rows:
        if fp.pattern_type == "full":
            full.setdefault(fp.pattern.strip(), []).append(i)
        elif fp.pattern_type == "prefix":
            prefix.setdefault(len(fp.pattern), {}).setdefault(fp.pattern, []).append(i)
        elif fp.pattern_type == "contains":
            contains.append((i, fp.pattern))
        else:
            regexps.append((i, fp))
    return _HeaderRows(full={k: tuple(v) for k, v in full.items()},
                       prefix={n: {k: tuple(v) for k, v in d.items()} for n, d in prefix.items()},
                       contains=tuple(contains), regexps=tuple(regexps))


def _plan(rows: tuple[Fingerprint, ...]) -> _Plan:
    headers: dict[str, list[tuple[int, Fingerprint]]] = {}
    contains: list[tuple[int, str]] = []
    other: list[tuple[int, Fingerprint]] = []
    for i, fp in enumerate(rows):
        name = fp.header_name
        if name is not None:
            headers.setdefault(name, []).append((i, fp))
        elif fp.pattern_type == "contains":
            contains.append((i, fp.pattern))
        else:
            other.append((i, fp))
    return _Plan(rows=rows, headers={k: _header_rows(v) for k, v in headers.items()}, contains=tuple(contains),
                 other_body=tuple(other))


@functools.lru_cache(maxsize=8192)  # every DNS answer of every measurement: the same few addresses
def _normal_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _normal_name(text: str) -> str:
    return text.strip().rstrip(".").lower()


def _compile(row: Mapping[str, str]) -> re.Pattern[str] | None:
    return re.compile(row["pattern"]) if row["pattern_type"] == "regexp" else None


def _fingerprint(row: Mapping[str, str], source: str) -> Fingerprint:
    """One CSV row as a Fingerprint; ValueError (with why) when the row cannot be used."""
    location = row["location_found"].strip().lower()
    if location not in ("dns", "body", "tls.issuer") and not location.startswith("header."):
        raise ValueError(f"unknown location_found {location!r}")
    if row["pattern_type"] not in PATTERN_TYPES:
        raise ValueError(f"unknown pattern_type {row['pattern_type']!r}")
    if not row["pattern"]:
        raise ValueError("empty pattern")
    try:
        regex = _compile(row)
    except re.error as exc:
        raise ValueError(f"bad regexp: {exc}") from exc
    try:
        confidence = int(row["confidence_no_fp"] or 0)
    except ValueError:
        confidence = 0
    countries = tuple(c.strip().upper() for c in row["expected_countries"].split(",") if c.strip())
    return Fingerprint(name=row["name"].strip(), scope=row["scope"].strip().lower(), location=location,
                       pattern_type=row["pattern_type"], pattern=row["pattern"], confidence=confidence,
                       countries=countries, notes=row["notes"], source_file=source, regex=regex,
                       needle=needle(regex) if regex is not None else None)


def parse_fingerprints(files: Mapping[str, str]) -> Fingerprints:
    """Fingerprints from CSV texts keyed by file name (pure: what `load_fingerprints` reads)."""
    http: list[Fingerprint] = []
    tls: list[Fingerprint] = []
    dns: dict[str, Fingerprint] = {}
    warnings: list[str] = []
    seen: set[tuple[str, str]] = set()
    digest = hashlib.sha256()
    for source in sorted(files):
        text = files[source]
        digest.update(source.encode() + b"\0" + text.encode("utf-8") + b"\0")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{source}: not a blocking-fingerprints CSV (missing {', '.join(missing)})")
        for line, row in enumerate(reader, start=2):
            try:
                fp = _fingerprint(row, source)
            except ValueError as exc:
                warnings.append(f"{source} row {line} ({row.get('name')}): {exc}; skipped")
                continue
            key = (fp.name, fp.location)  # upstream reuses a name for a DNS and an HTTP fingerprint
            if key in seen:
                warnings.append(f"{source} row {line}: duplicate name {fp.name}; skipped")
                continue
            seen.add(key)
            if fp.location == "dns":
                if fp.pattern_type != "full":
                    warnings.append(f"{source} row {line} ({fp.name}): dns pattern is not `full`; skipped")
                    continue
                ip = _normal_ip(fp.pattern)
                dns.setdefault(ip or _normal_name(fp.pattern), fp)  # an address, or a CNAME target
            elif fp.location == "tls.issuer":
                tls.append(fp)
            else:
                http.append(fp)
    return Fingerprints(http=tuple(http), dns=dns, tls_issuer=tuple(tls), warnings=tuple(warnings),
                        digest=digest.hexdigest())


def load_fingerprints(directory: Path | None = None) -> Fingerprints:
    """Read every *.csv in `directory` (None: the files shipped in probe/data/fingerprints)."""
    texts: dict[str, str] = {}
    if directory is None:
        shipped = resources.files("probe").joinpath("data", "fingerprints")
        for item in shipped.iterdir():
            if item.name.endswith(".csv"):
                texts[item.name] = item.read_text(encoding="utf-8")
    else:
        if not directory.is_dir():
            raise FileNotFoundError(f"no fingerprint folder at {directory}")
        for path in directory.glob("*.csv"):
            texts[path.name] = path.read_text(encoding="utf-8")
    if not texts:
        raise ValueError(f"no *.csv fingerprint files in {directory or 'the shipped data folder'}")
    return parse_fingerprints(texts)
