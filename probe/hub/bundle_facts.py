"""What a hub bundle's report may say, gathered from its signed links alone, one probe at a time.

The exporter feeds every link it writes, and `probe verify` every link that verified, in the same
order (by key fingerprint, then seq); both get the same `HubFacts`, so the report is rendered again
and compared byte for byte. Only signed records count: a measurement link gives the site, network and
time; its verdict is the latest signed verdict record (kind "verdict") bound to that measurement's
record hash by the same key. The hub's unsigned `label` column is never read, nor anything else the
hub says, except the probes' names and revocations, which the report marks as the hub's claim.
Memory: a few fields per measurement of the current probe, then per site × network × day counters.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pydantic import ValidationError

from probe.evidence.explain import TECHNIQUES, host_of
from probe.evidence.report.data import NOT_CLASSIFIED, status_class
from probe.models import Measurement, Verdict
from probe.models.chain import VerdictRecord, parse_record

# The colour a day's cell gets: its most serious result (a blocked measurement makes a blocked day).
SEVERITY = ("blocked", "takedown", "slowed", "unknown", "notcensorship", "ok")


@dataclass(frozen=True)
class _Seen:
    url: str
    asn: str
    network: str
    cc: str
    time: str


@dataclass
class Cell:
    """One site on one network on one UTC day."""

    labels: Counter[str] = field(default_factory=Counter)
    probes: set[str] = field(default_factory=set)

    @property
    def status(self) -> str:
        present = {status_class(label) if label != NOT_CLASSIFIED else "unknown" for label in self.labels}
        return next(s for s in SEVERITY if s in present)


@dataclass
class Site:
    measurements: int = 0
    blocked: int = 0
    probes: set[str] = field(default_factory=set)
    networks: set[str] = field(default_factory=set)
    blocked_probes: set[str] = field(default_factory=set)
    blocked_networks: set[str] = field(default_factory=set)
    first_blocked: str = ""
    last_blocked: str = ""


@dataclass
class Technique:
    measurements: int = 0
    sites: set[str] = field(default_factory=set)
    probes: set[str] = field(default_factory=set)


@dataclass
class ProbeFacts:
    measurements: int = 0
    verdicts: int = 0
    networks: set[str] = field(default_factory=set)
    first: str = ""
    last: str = ""


@dataclass
class HubFacts:
    count: int = 0
    first: str = ""
    last: str = ""
    probes: dict[str, ProbeFacts] = field(default_factory=dict)
    networks: dict[str, tuple[str, str]] = field(default_factory=dict)  # ASN -> (name, country)
    sites: dict[str, Site] = field(default_factory=dict)
    cells: dict[tuple[str, str, str], Cell] = field(default_factory=dict)  # (site, ASN, day)
    techniques: dict[tuple[str, str, str], Technique] = field(default_factory=dict)  # (ASN, family, words)
    labels: Counter[str] = field(default_factory=Counter)
    orphan_verdicts: list[tuple[str, int]] = field(default_factory=list)  # (key, seq): no measurement here

    @property
    def days(self) -> list[str]:
        return sorted({day for _, _, day in self.cells})


class Collector:
    """Feed links with `add` (grouped by key, in seq order), then `finish()` once."""

    def __init__(self) -> None:
        self.facts = HubFacts()
        self._key = ""
        self._seen: dict[str, _Seen] = {}  # record_sha256 -> the measurement, for the current key
        self._verdicts: dict[str, tuple[int, Verdict]] = {}  # measurement_sha256 -> latest (seq, verdict)

    def add(self, *, key_fingerprint: str, kind: str, seq: int, record: str, record_sha256: str) -> None:
        if key_fingerprint != self._key:
            self._flush()
            self._key = key_fingerprint
        if kind == "measurement":
            try:
                m = Measurement.model_validate_json(record)
            except ValidationError:
                return  # verify reports it; a record that is not a measurement counts for nothing here
            net = m.network
            self._seen[record_sha256] = _Seen(url=m.input, asn=net.probe_asn, network=net.probe_network_name,
                                              cc=net.probe_cc, time=m.test_start_time)
        elif kind == "verdict":
            try:
                parsed = parse_record(record)
            except ValidationError:
                return
            if isinstance(parsed, VerdictRecord):
                known = self._verdicts.get(parsed.measurement_sha256)
                if known is None or known[0] < seq:
                    self._verdicts[parsed.measurement_sha256] = (seq, parsed.verdict)

    def finish(self) -> HubFacts:
        self._flush()
        return self.facts

    def _flush(self) -> None:
        key, f = self._key, self.facts
        for sha, (seq, _) in sorted(self._verdicts.items(), key=lambda kv: kv[1][0]):
            if sha not in self._seen:  # the exporter sends verdicts only with their measurements
                f.orphan_verdicts.append((key, seq))
        for sha, seen in self._seen.items():
            found = self._verdicts.get(sha)
            self._count(key, seen, found[1] if found else None)
        self._seen, self._verdicts = {}, {}

    def _count(self, key: str, seen: _Seen, verdict: Verdict | None) -> None:
        f = self.facts
        label = verdict.label if verdict else NOT_CLASSIFIED
        f.count += 1
        f.first = min(f.first or seen.time, seen.time)
        f.last = max(f.last, seen.time)
        f.labels[label] += 1
        probe = f.probes.setdefault(key, ProbeFacts())
        probe.measurements += 1
        probe.verdicts += verdict is not None
        probe.networks.add(seen.asn)
        probe.first = min(probe.first or seen.time, seen.time)
        probe.last = max(probe.last, seen.time)
        known = f.networks.get(seen.asn)
        if known is None or (seen.network, seen.cc) < known:  # one name per ASN, whichever order links came in
            f.networks[seen.asn] = (seen.network, seen.cc)
        host = host_of(seen.url)
        site = f.sites.setdefault(host, Site())
        site.measurements += 1
        site.probes.add(key)
        site.networks.add(seen.asn)
        cell = f.cells.setdefault((host, seen.asn, seen.time[:10]), Cell())
        cell.labels[label] += 1
        cell.probes.add(key)
        if verdict is not None and verdict.blocked:
            site.blocked += 1
            site.blocked_probes.add(key)
            site.blocked_networks.add(seen.asn)
            site.first_blocked = min(site.first_blocked or seen.time, seen.time)
            site.last_blocked = max(site.last_blocked, seen.time)
            family, words = TECHNIQUES.get(verdict.label, ("Other", verdict.label))
            if verdict.label.startswith("tls.") and verdict.sni_filtering:
                family = "TLS SNI filtering"
            tech = f.techniques.setdefault((seen.asn, family, words), Technique())
            tech.measurements += 1
            tech.sites.add(host)
            tech.probes.add(key)
