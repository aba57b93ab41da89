"""A run that started with nothing answering: every verdict of it is `inconclusive`, never a block.

When the control helpers, the resolver and a few well-known addresses all failed to answer (the
run-level `NetworkDown` observation each measurement carries), a failure to reach one site says
nothing about that site: the whole network was off (an internet shutdown, or the volunteer's own
link). The verdict says so first, then what the measurement itself saw. Pure: no I/O.
"""

from __future__ import annotations

from probe.models.measurement import Measurement
from probe.models.verdict import Verdict


def shutdown_verdict(measurement: Measurement, seen: Verdict) -> Verdict:
    """`seen` (the verdict the rules reached on their own) made `inconclusive` by the run's outage."""
    down = measurement.network_down
    if down is None:
        return seen
    reasons = [down.summary(), "A failure to reach this site during an outage says nothing about the site: "
               "the verdict is inconclusive, never a block."]
    reasons.extend(f"Seen: {r}" for r in seen.reasons if r)
    return Verdict(label="inconclusive", confidence="possible", blocking=None, accessible=None, reasons=reasons,
                   rules_version=seen.rules_version)
