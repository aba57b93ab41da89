"""The lab's registry, as configuration: what its server lists, and the flags that point the probe and
the control helper at it (every TLD the shipped registry table knows, so no look-up leaves the lab).

Nothing here starts a server (probe.lab.registry_server is the server) or touches the network.
"""

from __future__ import annotations

import json
from pathlib import Path

from probe.lab import addressing as A
from probe.lab.sites import SitePlan
from probe.net.registry import load_table


def registry_args() -> list[str]:
    """`--registry` flags for every TLD of the shipped table: RDAP where it has RDAP, else WHOIS."""
    args: list[str] = []
    for tld, servers in sorted(load_table().servers.items()):
        rdap = any(s.protocol == "rdap" for s in servers)
        spec = (f"https://{A.REGISTRY_V4}:{A.REGISTRY_RDAP_PORT}/rdap/" if rdap
                else f"whois://{A.REGISTRY_V4}:{A.REGISTRY_WHOIS_PORT}")
        args += ["--registry", f"{tld}={spec}"]
    return args


def server_config(state: Path, plan: SitePlan) -> str:
    """registry_server's JSON: the statuses of each site's registered name (sites with none are unknown)."""
    table = load_table()
    domains: dict[str, list[str]] = {}
    for site in plan.sites.values():
        name = table.registered_domain(site.host) or site.host
        if site.origin.registry_status:
            domains[name] = list(site.origin.registry_status)
    return json.dumps({"address": A.REGISTRY_V4, "whois_port": A.REGISTRY_WHOIS_PORT,
                       "rdap_port": A.REGISTRY_RDAP_PORT, "cert": str(state / "certs" / "_registry.pem"),
                       "domains": domains})
