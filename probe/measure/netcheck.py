"""Is anything out there? The run-level check that tells an internet shutdown from blocking.

Before a run measures, the control helpers are tried (a TCP connect each). When one answers, the
network is up and nothing else is contacted. When none does, the resolver is asked for a name and a
few well-known addresses are tried; when none of those accepts a connection either, the run records
one `NetworkDown` observation (every check, with its failure) and every measurement of the run
carries it, so its verdict is `inconclusive` with that reason instead of a block.

The well-known set: `--well-known ip:port` (a lab names its own), else `DEFAULT_WELL_KNOWN` -- but
that default (big public anycast resolvers, reachable only when a volunteer runs the probe) is used
only when every control helper is named by a public address or a host name: a probe pointed at a
loopback, private or reserved helper is a test or a lab, and must name its set, so no test ever
touches a public address. Without a control and without a set, nothing is judged. Sockets are opened
through `probe.net` only; this module measures and never classifies.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from probe import failures
from probe.models.netcheck import NetworkDown, ReachCheck
from probe.models.settings import split_resolver
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock, measurement_clock, utc_now_iso
from probe.net.dns import query_udp, resolve_getaddrinfo
from probe.net.tcp import tcp_connect

# Public anycast resolvers, answering TCP on 443 (DoH) from almost every network. Documented in
# docs/configuration.md; replace with `--well-known` (or `[measure] well_known`).
DEFAULT_WELL_KNOWN = ("1.1.1.1:443", "8.8.8.8:443", "9.9.9.9:443", "208.67.222.222:443")
# An anycast address answers within a second from anywhere; a control helper within a few. Waiting
# longer only delays every run of a shutdown.
CHECK_TIMEOUT_S = 5.0
MAX_WELL_KNOWN = 8


def split_address(text: str) -> tuple[str, int]:
    """"1.2.3.4:443" or "[2001:db8::1]:443" → (ip, port); ValueError when it is not one."""
    text = text.strip()
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    ip = str(ipaddress.ip_address(host))
    number = int(port)
    if not 0 < number < 65536:
        raise ValueError(f"port out of range in {text!r}")
    return ip, number


def well_known_set(configured: Sequence[str] | None, control_urls: Sequence[str]) -> list[str]:
    """The addresses to try: the configured ones, else the default when the helpers are public."""
    if configured is not None:
        return list(configured)[:MAX_WELL_KNOWN]
    hosts = [urlsplit(u).hostname or "" for u in control_urls]
    if not hosts or not all(_public(h) for h in hosts):
        return []
    return list(DEFAULT_WELL_KNOWN)


def _public(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return bool(host) and host != "localhost" and not host.endswith(".localhost")
    return ip.is_global


async def check_network(*, control_urls: Sequence[str], resolver: str | None, name: str,
                        well_known: Sequence[str], timeout_s: float = CHECK_TIMEOUT_S) -> NetworkDown | None:
    """None when a control helper or a well-known address answers (or nothing can be judged)."""
    if not control_urls or not well_known:
        return None  # no helper to miss, or nothing to tell a blocked helper from a dead network
    clock = measurement_clock()
    checked_at = utc_now_iso()
    controls = await asyncio.gather(*(_control(host, port, timeout_s, clock)
                                      for host, port in endpoints(control_urls[:4])))
    if any(c.failure is None for c in controls):
        return None
    dns_check, *tcp = await asyncio.gather(_resolver(resolver, name, timeout_s, clock),
                                           *(_tcp(a, timeout_s, clock) for a in well_known))
    if any(c.failure is None for c in tcp):
        return None  # the internet answers: only the helpers are unreachable (blocked, or down)
    return NetworkDown(checked_at=checked_at, checks=[*controls, dns_check, *tcp],
                       dns_answers=dns_check.failure is None)


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
    """Whether at least one control endpoint accepts a TCP connection within `timeout_s`; None when
    no URL names one (nothing to check). The daemon's pre-flight check (`probe.schedule.network`)."""
    targets = endpoints(urls)
    if not targets:
        return None
    clock = measurement_clock()
    checks = await asyncio.gather(*(_control(host, port, timeout_s, clock) for host, port in targets))
    return any(c.failure is None for c in checks)


async def _control(host: str, port: int, timeout_s: float, clock: Clock) -> ReachCheck:
    t0 = clock()
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        lookup = await resolve_getaddrinfo(host, timeout_s=timeout_s, clock=clock)
        addresses = [a.ipv4 or a.ipv6 or "" for a in lookup.answers if a.ipv4 or a.ipv6]
        if not addresses:
            return ReachCheck(kind="control", target=f"{host}:{port}", t0=t0, t=clock(),
                              failure=lookup.failure or failures.DNS_NO_ANSWER)
    failure: str | None = failures.GENERIC_TIMEOUT
    for ip in addresses[:2]:
        obs, sock = await tcp_connect(ip, port, timeout_s=timeout_s, clock=clock)
        if sock is not None:
            sock.close()
            return ReachCheck(kind="control", target=_endpoint(ip, port), t0=t0, t=clock())
        failure = obs.failure
    return ReachCheck(kind="control", target=_endpoint(addresses[0], port), t0=t0, t=clock(), failure=failure)


async def _resolver(resolver: str | None, name: str, timeout_s: float, clock: Clock) -> ReachCheck:
    t0 = clock()
    if resolver is None:
        obs = await resolve_getaddrinfo(name, timeout_s=timeout_s, clock=clock)
        where = "system resolver"
    else:
        obs = await query_udp(name, "A", resolver=resolver, timeout_s=timeout_s, late_window_s=0.0,
                              clock=clock, sink=ArtifactSink())
        where = _endpoint(*split_resolver(resolver))
    failure = obs.failure or (None if obs.addresses() else failures.DNS_NO_ANSWER)
    return ReachCheck(kind="resolver", target=f"{where} for {name}", t0=t0, t=clock(), failure=failure)


async def _tcp(address: str, timeout_s: float, clock: Clock) -> ReachCheck:
    t0 = clock()
    ip, port = split_address(address)
    obs, sock = await tcp_connect(ip, port, timeout_s=timeout_s, clock=clock)
    if sock is not None:
        sock.close()
    return ReachCheck(kind="tcp", target=_endpoint(ip, port), t0=t0, t=clock(), failure=obs.failure)


def _endpoint(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
