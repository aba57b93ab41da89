"""What the report shows, gathered in one streaming pass over (measurement, verdict) pairs.

Memory grows with the number of websites and networks, plus one (time, label) pair per measurement
for the timelines, plus the hash of each artifact retention pruned; the measurements themselves are
not kept. Networks are keyed by ASN and name: the probe's address is never in a measurement, so it
can never reach the report. Which cited artifacts were pruned comes from an injected lookup (the
store's `artifact_info`); without one the report says nothing about pruning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from probe.evidence.bundle.manifest import referenced_artifacts
from probe.evidence.explain import Tally, technique
from probe.evidence.history import HistoryPoint
from probe.evidence.report.takedown import TakedownEvidence, takedown_evidence
from probe.models import Measurement, Verdict
from probe.models.verdict import TAKEDOWN_LABELS, THROTTLED_LABELS, is_blocked_label

NOT_CLASSIFIED = "not classified"

# (kind, size, pruned_at) of a stored artifact, None if the store never had it: `Store.artifact_info`.
ArtifactInfo = Callable[[str], tuple[str, int, str | None] | None]
ArtifactBytes = Callable[[str], bytes | None]  # `Store.artifact`: the bytes, None if pruned or never stored


def status_class(label: str) -> str:
    """The colour group of a verdict label: blocked, ok, slowed, not-censorship, unknown."""
    if label == "ok":
        return "ok"
    if label in THROTTLED_LABELS:
        return "slowed"
    if is_blocked_label(label):
        return "blocked"
    if label in ("down", "site.refused"):
        return "notcensorship"
    if label in TAKEDOWN_LABELS:
        return "takedown"
    return "unknown"


@dataclass
class NetworkRow:
    asn: str
    name: str
    cc: str
    count: int = 0
    first: str = ""
    last: str = ""
    # When the probe's runs found the whole network down (an internet shutdown), per measurement time.
    checks: list[tuple[str, bool]] = field(default_factory=list)  # (time, network down)

    def outages(self) -> list[tuple[str, str, int]]:
        """Periods of consecutive down measurements: (first, last, measurements), in time order.

        A period runs from the first measurement that found the network down to the last one before
        it answered again: the true outage began after the last "up" one and ended before the next.
        """
        periods: list[tuple[str, str, int]] = []
        start = last = ""
        count = 0
        for when, down in sorted(self.checks):
            if down:
                start, last, count = start or when, when, count + 1
            elif count:
                periods.append((start, last, count))
                start, last, count = "", "", 0
        if count:
            periods.append((start, last, count))
        return periods


@dataclass
class TargetRow:
    url: str
    category: str
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (time, label), in store order
    tallies: dict[str, Tally] = field(default_factory=dict)  # blocked labels only

    @property
    def latest(self) -> str:
        return max(self.attempts)[1] if self.attempts else NOT_CLASSIFIED

    @property
    def blocked_count(self) -> int:
        return sum(1 for _, label in self.attempts if is_blocked_label(label))


@dataclass
class TechniqueRow:
    family: str
    description: str
    detail: str
    measurements: int = 0
    targets: set[str] = field(default_factory=set)


@dataclass
class Pruning:
    """Artifacts the reported measurements cite whose bytes retention deleted, and when."""

    kinds: Counter[str] = field(default_factory=Counter)  # distinct artifacts, by kind
    pruned_first: str = ""  # when retention deleted them (earliest, latest)
    pruned_last: str = ""
    measurements: int = 0  # reported measurements that cite at least one of them
    measured_first: str = ""
    measured_last: str = ""
    _hashes: set[str] = field(default_factory=set, repr=False)

    @property
    def count(self) -> int:
        return sum(self.kinds.values())

    def add(self, m: Measurement, info: ArtifactInfo) -> None:
        cites_pruned = False
        for sha, kind in referenced_artifacts(m).items():
            known = info(sha)
            if known is None or known[2] is None:
                continue  # never stored (export reports that), or still there
            cites_pruned = True
            if sha in self._hashes:
                continue
            self._hashes.add(sha)
            self.kinds[kind] += 1
            self.pruned_first = min(self.pruned_first or known[2], known[2])
            self.pruned_last = max(self.pruned_last, known[2])
        if cites_pruned:
            self.measurements += 1
            self.measured_first = min(self.measured_first or m.test_start_time, m.test_start_time)
            self.measured_last = max(self.measured_last, m.test_start_time)


@dataclass
class ReportData:
    count: int = 0
    first: str = ""
    last: str = ""
    networks: dict[tuple[str, str], NetworkRow] = field(default_factory=dict)
    targets: dict[str, TargetRow] = field(default_factory=dict)
    techniques: dict[tuple[str, str, str], TechniqueRow] = field(default_factory=dict)
    labels: Counter[str] = field(default_factory=Counter)
    artifact_info: ArtifactInfo | None = field(default=None, repr=False, compare=False)
    artifact_bytes: ArtifactBytes | None = field(default=None, repr=False, compare=False)
    pruning: Pruning = field(default_factory=Pruning)
    history: list[HistoryPoint] = field(default_factory=list)  # (url, time, id, label) of every measurement
    takedowns: dict[str, TakedownEvidence] = field(default_factory=dict)  # URL -> its latest takedown verdict
    signers: Counter[str] = field(default_factory=Counter)  # key fingerprint -> measurements ("": unsigned)

    def add_signature(self, key_fingerprint: str | None) -> None:
        """Who signed the measurement just added (None: nobody); a bundle's report says it, counted."""
        self.signers[key_fingerprint or ""] += 1

    def add(self, m: Measurement, v: Verdict | None) -> None:
        when = m.test_start_time
        self.count += 1
        self.first = min(self.first or when, when)
        self.last = max(self.last, when)
        label = v.label if v else NOT_CLASSIFIED
        self.labels[label] += 1
        self._add_network(m)
        target = self.targets.setdefault(m.input, TargetRow(url=m.input, category=m.category_code or ""))
        target.attempts.append((when, label))
        self.history.append(HistoryPoint(url=m.input, time=when, measurement_id=m.measurement_id,
                                         label=v.label if v else None))
        if v is not None and v.label in TAKEDOWN_LABELS:
            known = self.takedowns.get(m.input)
            if known is None or known.time <= when:
                self.takedowns[m.input] = takedown_evidence(m, v, self.artifact_bytes)
        if self.artifact_info is not None:
            self.pruning.add(m, self.artifact_info)
        if v is not None and v.blocked:
            target.tallies.setdefault(v.label, Tally(label=v.label)).add(m, v)
            key = technique(v)
            row = self.techniques.setdefault(key, TechniqueRow(*key))
            row.measurements += 1
            row.targets.add(m.input)

    def _add_network(self, m: Measurement) -> None:
        net = m.network
        key = (net.probe_asn, net.probe_network_name)
        row = self.networks.setdefault(key, NetworkRow(asn=net.probe_asn, name=net.probe_network_name,
                                                       cc=net.probe_cc))
        row.count += 1
        row.checks.append((m.test_start_time, m.network_down is not None))
        row.first = min(row.first or m.test_start_time, m.test_start_time)
        row.last = max(row.last, m.test_start_time)

    @property
    def blocked_targets(self) -> list[TargetRow]:
        rows = [t for t in self.targets.values() if t.tallies]
        return sorted(rows, key=lambda t: (-t.blocked_count, t.url))


def collect(pairs: Iterable[tuple[Measurement, Verdict | None]], *,
            artifact_info: ArtifactInfo | None = None, artifact_bytes: ArtifactBytes | None = None) -> ReportData:
    data = ReportData(artifact_info=artifact_info, artifact_bytes=artifact_bytes)
    for measurement, verdict in pairs:
        data.add(measurement, verdict)
    return data
