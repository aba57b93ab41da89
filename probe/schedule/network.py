"""Is the probe's network up? A cheap check before each scheduled run, and the backoff while it is not.

We pick a pre-flight check over judging a finished run: a TCP connection to each control helper (and
the DoH resolver) costs a few packets, whereas a run on a dead network would record a whole list of
failures that only say "the volunteer's Wi-Fi was off". The network counts as down only when *every*
control endpoint is unreachable; with no control configured we cannot tell, and always run.

A censor that blocks every control helper also looks like "down" here; the daemon logs
`network_down` with the reason, so the volunteer sees it, and a second helper or a DoH resolver on
another network makes that case unlikely. The check itself is `probe.measure.netcheck.controls_reachable`
(the same connect the run's shutdown check makes); this module only names it and paces the retries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from probe.measure.netcheck import controls_reachable

# (control URLs, timeout) → True (some control answers), False (none does), None (nothing to check)
NetworkCheck = Callable[[Sequence[str], float], Awaitable[bool | None]]

__all__ = ["Backoff", "NetworkCheck", "controls_reachable"]


@dataclass
class Backoff:
    """Exponential waits between network checks: initial, 2×, 4×, … capped at `maximum`."""

    initial_s: float
    maximum_s: float
    attempts: int = 0

    def next_delay(self) -> float:
        delay = min(self.maximum_s, self.initial_s * 2.0 ** min(self.attempts, 32))
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0
