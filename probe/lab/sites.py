"""The lab's web sites: which hosts exist, their addresses, and what each one serves.

A `SitePlan` is pure data derived from a scenario (its URL's host, the hosts its redirects name, the
decoy host) plus any bulk hosts a benchmark adds. The DNS, web and censor modules render it into
server configuration. Nothing here starts a server or writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from probe.lab import addressing as A
from probe.lab.scenario import Origin, Scenario, url_host

DECOY_HOST = "decoy.probe-lab.net"  # never censored: the probe's decoy SNI
CONTROL_HOST = "control.probe-lab.net"
DEFAULT_ORIGIN = Origin()
# The decoy's page is big enough (64 KiB) for its transfer to be timed as a rate: the decoy GET after a
# slow page then gives the ratio of the two rates (a field decoy's small page leaves that to the control).
DECOY_ORIGIN = Origin(body_bytes=64 * 1024)


@dataclass(frozen=True)
class Site:
    host: str  # DNS form (IDNA, lower-case)
    origin: Origin
    v4: tuple[str, ...]
    v6: tuple[str, ...]
    geo_v4: str | None = None  # what the ISP resolver answers instead (a CDN's other node)
    geo_v6: str | None = None

    @property
    def addresses(self) -> tuple[str, ...]:
        return self.v4 + self.v6

    def dns_v4(self) -> tuple[str, ...]:
        """The A records the authoritative server publishes."""
        if not self.origin.exists:
            return ()
        if self.origin.resolves_to:
            return (self.origin.resolves_to,) if ":" not in self.origin.resolves_to else ()
        return self.v4

    def dns_v6(self) -> tuple[str, ...]:
        if not self.origin.exists:
            return ()
        if self.origin.resolves_to:
            return (self.origin.resolves_to,) if ":" in self.origin.resolves_to else ()
        return self.v6


@dataclass
class SitePlan:
    sites: dict[str, Site] = field(default_factory=dict)
    # Host names that resolve to the ISP's blockpage server (where http_redirect sends people).
    blockpage_hosts: set[str] = field(default_factory=set)
    _next: int = 0

    def add(self, host: str, origin: Origin = DEFAULT_ORIGIN) -> Site:
        if host in self.sites:
            return self.sites[host]
        n = max(origin.addresses, 1)
        v4 = tuple(A.site_v4(self._next + i) for i in range(n))
        v6 = tuple(A.site_v6(self._next + i) for i in range(n)) if origin.ipv6 else ()
        self._next += n
        geo_v4 = geo_v6 = None
        if origin.geo:
            geo_v4, geo_v6 = A.site_v4(self._next), A.site_v6(self._next) if origin.ipv6 else None
            self._next += 1
        site = Site(host=host, origin=origin, v4=v4 if origin.addresses else (),
                    v6=v6 if origin.addresses else (), geo_v4=geo_v4, geo_v6=geo_v6)
        self.sites[host] = site
        return site

    def add_bulk(self, hosts: list[str]) -> None:
        for host in hosts:
            self.add(host.lower())

    @property
    def special(self) -> list[Site]:
        return [s for s in self.sites.values() if s.origin.special]

    def addresses_of(self, match: str) -> list[str]:
        """Every address of the sites whose host is `match` or a subdomain of it."""
        out: list[str] = []
        for s in self.sites.values():
            if s.host == match or s.host.endswith("." + match):
                out.extend(s.addresses)
                out.extend(a for a in (s.geo_v4, s.geo_v6) if a)
        return out


def plan_for(scenario: Scenario | None) -> SitePlan:
    """The scenario's site, every host its redirects name, and the decoy."""
    plan = SitePlan()
    plan.add(DECOY_HOST, DECOY_ORIGIN)
    if scenario is None:
        return plan
    plan.add(scenario.host, scenario.origin)
    for url in _redirect_hops(scenario.origin.redirect_to):
        host = url_host(url)
        if host and not _is_ip(host):
            plan.add(host)
    for c in scenario.censors():
        if c.action == "http_redirect" and c.location:
            host = url_host(c.location)
            if host and not _is_ip(host) and host not in plan.sites:
                plan.blockpage_hosts.add(host)
    return plan


def _redirect_hops(redirect_to: str) -> list[str]:
    return [redirect_to] if redirect_to and urlsplit(redirect_to).hostname else []


def _is_ip(host: str) -> bool:
    return A.is_allowed_target(host)
