"""DNS of the lab, rendered as configuration for real servers.

* nsd (inet ns) is authoritative for the lab's root zone: one zone file holds every lab host name
  (thousands, for benchmarks), so no delegations are needed and unknown names are NXDOMAIN.
* unbound (inet ns) is the "public" recursive resolver; its only root server is that nsd.
* dnsmasq (isp ns) is the ISP's resolver: it forwards to unbound, and lies where the scenario says
  (dns_nxdomain, dns_redirect, CDN geo answers; SERVFAIL/REFUSED come from the middlebox's stub).

dns_drop and dns_inject are packet-level and live in `censor.py`. This module only renders text.
"""

from __future__ import annotations

from pathlib import Path

from probe.lab import addressing as A
from probe.lab.scenario import Censor
from probe.lab.sites import CONTROL_HOST, SitePlan

RCODE_STUB_PORTS: dict[str, int] = {"dns_servfail": 5301, "dns_refused": 5302}  # middlebox stub in the isp ns
_TTL = 60


def root_zone(plan: SitePlan) -> str:
    lines = [
        f"$TTL {_TTL}",
        ". IN SOA ns.lab-root. hostmaster.lab-root. 1 3600 600 86400 60",
        ". IN NS ns.lab-root.",
        f"ns.lab-root. IN A {A.AUTH_DNS_V4}",
        f"ns.lab-root. IN AAAA {A.AUTH_DNS_V6}",
        f"{CONTROL_HOST}. IN A {A.CONTROL_V4}",
        f"{CONTROL_HOST}. IN AAAA {A.CONTROL_V6}",
    ]
    for site in plan.sites.values():
        if not site.origin.exists:
            continue
        v4, v6 = site.dns_v4(), site.dns_v6()
        lines.extend(f"{site.host}. IN A {ip}" for ip in v4)
        lines.extend(f"{site.host}. IN AAAA {ip}" for ip in v6)
        if not v4 and not v6:  # the name exists but has no address (NODATA everywhere)
            lines.append(f'{site.host}. IN TXT "no addresses"')
    for host in sorted(plan.blockpage_hosts):
        lines.append(f"{host}. IN A {A.BLOCKPAGE_V4}")
    return "\n".join(lines) + "\n"


def nsd_conf(state: Path) -> str:
    return f"""server:
    ip-address: {A.AUTH_DNS_V4}
    ip-address: {A.AUTH_DNS_V6}
    port: 53
    username: ""
    chroot: ""
    server-count: 1
    database: ""
    zonelistfile: "{state}/nsd/zone.list"
    xfrdfile: "{state}/nsd/xfrd.state"
    xfrdir: "{state}/nsd"
    pidfile: "{state}/nsd/nsd.pid"
    logfile: "{state}/log/nsd.log"
    hide-version: yes
    verbosity: 0
remote-control:
    control-enable: no
zone:
    name: "."
    zonefile: "{state}/nsd/root.zone"
"""


def unbound_conf(state: Path) -> str:
    # module-config iterator: no DNSSEC validation (the lab root is unsigned).
    return f"""server:
    interface: {A.PUBLIC_RESOLVER_V4}
    interface: {A.PUBLIC_RESOLVER_V6}
    port: 53
    username: ""
    chroot: ""
    directory: "{state}/unbound"
    pidfile: "{state}/unbound/unbound.pid"
    logfile: "{state}/log/unbound.log"
    use-syslog: no
    verbosity: 0
    num-threads: 1
    access-control: 0.0.0.0/0 allow
    access-control: ::/0 allow
    module-config: "iterator"
    qname-minimisation: no
    root-hints: "{state}/unbound/root.hints"
    do-not-query-localhost: no
    cache-max-ttl: {_TTL}
    cache-max-negative-ttl: 5
stub-zone:
    name: "."
    stub-addr: {A.AUTH_DNS_V4}
"""


def root_hints() -> str:
    return f". 3600 IN NS ns.lab-root.\nns.lab-root. 3600 IN A {A.AUTH_DNS_V4}\n"


def dnsmasq_conf(state: Path, plan: SitePlan, censors: list[Censor],
                 listen: tuple[str, str] = (A.ISP_IN_V4, A.ISP_IN_V6)) -> str:
    """The ISP resolver's configuration; `listen` is the ISP's (v4, v6) (the second ISP has its own)."""
    lines = [
        f"listen-address={listen[0]}",
        f"listen-address={listen[1]}",
        "bind-interfaces",
        "port=53",
        "no-resolv",
        "no-hosts",
        "no-poll",
        "user=root",
        "cache-size=1000",
        f"server={A.PUBLIC_RESOLVER_V4}",
        f"pid-file={state}/dnsmasq/dnsmasq.pid",
        f"log-facility={state}/log/dnsmasq.log",
    ]
    for site in plan.sites.values():
        if site.geo_v4:  # a CDN: the ISP's resolver (inside the country) gets another node
            lines.append(f"address=/{site.host}/{site.geo_v4}")
        if site.geo_v6:
            lines.append(f"address=/{site.host}/{site.geo_v6}")
    for c in censors:
        lines.extend(_censor_lines(c))
    return "\n".join(lines) + "\n"


def _censor_lines(c: Censor) -> list[str]:
    if c.action == "dns_nxdomain":
        return [f"address=/{c.match}/"]
    if c.action in RCODE_STUB_PORTS:
        return [f"server=/{c.match}/127.0.0.1#{RCODE_STUB_PORTS[c.action]}"]
    if c.action == "dns_redirect":
        v4, v6 = redirect_target(c.address)
        return [f"address=/{c.match}/{ip}" for ip in (v4, v6) if ip]
    return []


def redirect_target(address: str) -> tuple[str | None, str | None]:
    """(v4, v6) a lying resolver answers for a scenario's `address` word or IP."""
    if address == "blockpage":
        return A.BLOCKPAGE_V4, A.BLOCKPAGE_V6
    if address == "origin_other":
        return A.OTHER_HOSTING_V4, A.OTHER_HOSTING_V6
    if ":" in address:
        return None, address
    return address, A.V6_TWIN.get(address)
