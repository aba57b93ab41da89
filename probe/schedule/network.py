"""Is the probe's network up? A cheap check before each scheduled run, and the backoff while it is not.

We pick a pre-flight check over judging a finished run: a TCP connection to each control helper (and
the DoH resolver) costs a few packets, whereas a run on a dead network would record a whole list of
failures that only say "the volunteer's Wi-Fi was off". The network counts as down only when *every*
control endpoint is unreachable; with no control configured we cannot tell, and always run.

A censor that blocks every control helper also looks like "down" here; the daemon logs
`network_down` with the reason, so the volunteer sees it, and a second helper or a DoH resolver on
another network makes that case unlikely. Sockets are opened through `probe.net` only.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from probe.net.clock import measurement_clock
from probe.net.dns import resolve_getaddrinfo
from probe.net.tcp import tcp_connect

# (control URLs, timeout) → True (some control answers), False (none does), None (nothing to check)
NetworkCheck = Callable[[Sequence[str], float], Awaitable[bool | None]]


def endpoints(urls: Sequence[str]) -> list[tuple[str, int]]:
    """(host, port) of each URL, default ports by scheme, duplicates dropped."""
    found: list[tuple[str, int]] = []
    for url in urls:
        parts = urlsplit(url)
        if not parts.hostname:
            continue
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if (parts.hostname, port) not in found:
            found.append((parts.hostname, port))
    return found


async def controls_reachable(urls: Sequence[str], timeout_s: float) -> bool | None:
    """Whether at least one control endpoint accepts a TCP connection within `timeout_s`."""
    targets = endpoints(urls)
    if not targets:
        return None
    results = await asyncio.gather(*(_reachable(host, port, timeout_s) for host, port in targets))
    return any(results)


async def _reachable(host: str, port: int, timeout_s: float) -> bool:
    clock = measurement_clock()
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        observation = await resolve_getaddrinfo(host, timeout_s=timeout_s, clock=clock)
        addresses = [a.ipv4 or a.ipv6 or "" for a in observation.answers if a.ipv4 or a.ipv6]
    for ip in addresses[:4]:
        _, sock = await tcp_connect(ip, port, timeout_s=timeout_s, clock=clock)
        if sock is not None:
            sock.close()
            return True
    return False


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
