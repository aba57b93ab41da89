"""What the report shows, gathered in one streaming pass over (measurement, verdict) pairs.

Memory grows with the number of websites and networks, plus one (time, label) pair per measurement
for the timelines; the measurements themselves are not kept. Networks are keyed by ASN and name:
the probe's address is never in a measurement, so it can never reach the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from probe.evidence.explain import Tally, technique
from probe.models import Measurement, Verdict
from probe.models.verdict import is_blocked_label

NOT_CLASSIFIED = "not classified"


def status_class(label: str) -> str:
    """The colour group of a verdict label: blocked, ok, slowed, not-censorship, unknown."""
    if label == "ok":
        return "ok"
    if label == "tls.throttled":
        return "slowed"
    if is_blocked_label(label):
        return "blocked"
    if label in ("down", "site.refused"):
        return "notcensorship"
    return "unknown"


@dataclass
class NetworkRow:
    asn: str
    name: str
    cc: str
    count: int = 0
    first: str = ""
    last: str = ""


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
class ReportData:
    count: int = 0
    first: str = ""
    last: str = ""
    networks: dict[tuple[str, str], NetworkRow] = field(default_factory=dict)
    targets: dict[str, TargetRow] = field(default_factory=dict)
    techniques: dict[tuple[str, str, str], TechniqueRow] = field(default_factory=dict)
    labels: Counter[str] = field(default_factory=Counter)

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
        row.first = min(row.first or m.test_start_time, m.test_start_time)
        row.last = max(row.last, m.test_start_time)

    @property
    def blocked_targets(self) -> list[TargetRow]:
        rows = [t for t in self.targets.values() if t.tallies]
        return sorted(rows, key=lambda t: (-t.blocked_count, t.url))


def collect(pairs: Iterable[tuple[Measurement, Verdict | None]]) -> ReportData:
    data = ReportData()
    for measurement, verdict in pairs:
        data.add(measurement, verdict)
    return data
