"""One host's DNS step within a measurement: getaddrinfo and UDP A/AAAA to the ISP resolver, together.

Addresses are handed back as soon as the first replies arrive; the UDP queries keep listening for
racing (injected) replies in the background, and `finish()` collects their observations at the end.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass, field

from probe.models import DNSQueryObservation
from probe.models.settings import MeasureSettings
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.dns import query_udp, resolve_getaddrinfo


@dataclass
class HostResolution:
    hostname: str
    addresses: list[str]
    failure: str | None
    getaddrinfo: DNSQueryObservation
    pending: list[asyncio.Task[DNSQueryObservation]] = field(default_factory=list)

    async def finish(self) -> list[DNSQueryObservation]:
        done = [self.getaddrinfo]
        for task in self.pending:
            done.append(await task)
        return done


def _ordered_union(*lists: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for items in lists:
        for ip in items:
            seen.setdefault(ip, None)
    # IPv4 first: a volunteer's network without IPv6 must not make the v6 failure the headline.
    return sorted(seen, key=lambda ip: ipaddress.ip_address(ip).version)


async def resolve_host(hostname: str, *, resolver: str | None, settings: MeasureSettings, clock: Clock,
                       sink: ArtifactSink) -> HostResolution:
    loop = asyncio.get_running_loop()
    firsts: list[asyncio.Future[list[str]]] = []
    pending: list[asyncio.Task[DNSQueryObservation]] = []
    if resolver:
        for qtype in ("A", "AAAA"):
            fut: asyncio.Future[list[str]] = loop.create_future()
            firsts.append(fut)
            pending.append(asyncio.create_task(query_udp(
                hostname, qtype, resolver=resolver, timeout_s=settings.timeouts.dns_s,
                late_window_s=settings.dns_late_window_s, clock=clock, sink=sink, first_reply=fut)))
    gai = await resolve_getaddrinfo(hostname, timeout_s=settings.timeouts.dns_s, clock=clock)
    udp_addrs = [ip for fut in firsts for ip in await fut]
    addresses = _ordered_union(gai.addresses(), udp_addrs)
    failure = gai.failure if not addresses else None
    if failure is None and not addresses:
        failure = "dns_no_answer"
    return HostResolution(hostname=hostname, addresses=addresses, failure=failure, getaddrinfo=gai,
                          pending=pending)
