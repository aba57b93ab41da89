"""The run-level "network down" observation: nothing answered when a run started.

Made once per run, before measuring, only when no control helper accepts a connection; recorded with
every measurement of that run (so each signed record carries why its verdict is `inconclusive`, and
`probe reclassify` re-derives it). `t0`/`t` are seconds since the check started.
"""

from __future__ import annotations

from typing import Literal

from probe.models.base import Frozen


class ReachCheck(Frozen):
    """One attempt: a TCP connect to a control helper or a well-known address, or a resolver query."""

    kind: Literal["control", "resolver", "tcp"]
    target: str  # "ip:port" (control and tcp) or "resolver ip:port → name"
    t0: float
    t: float
    failure: str | None = None  # None: it answered


class NetworkDown(Frozen):
    """No control helper and no well-known address answered: an internet shutdown (or the probe's own
    network down). `dns_answers`: the resolver still resolved a name (a partial shutdown)."""

    checked_at: str  # UTC ISO-8601, when the run's check started
    checks: list[ReachCheck]
    dns_answers: bool = False

    def summary(self) -> str:
        """One sentence with every check, for reasons and logs."""
        parts = []
        for kind, what in (("control", "no control helper answered"), ("resolver", "the resolver"),
                           ("tcp", "no TCP connection to a well-known address")):
            items = [c for c in self.checks if c.kind == kind]
            if not items:
                continue
            tried = "; ".join(f"{c.target}: {c.failure or 'answered'}" for c in items)
            if kind == "resolver":
                what = "the resolver still answered" if self.dns_answers else "the resolver did not resolve"
            parts.append(f"{what} ({tried})")
        kind = "partial (DNS still answers)" if self.dns_answers else "full"
        return f"The network was down when this run started ({self.checked_at}, {kind}): " + ", ".join(parts) + "."
