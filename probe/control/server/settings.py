"""Settings of a running control helper: where it resolves, whom it trusts, what it may reach, limits.

Step timeouts are shorter than the probe's defaults and the whole request has a budget, so the helper
answers before the probe's client gives up on it (the probe waits tcp+tls+http+5 s, 40 s by default):
a site that is down must come back as a control that failed, not as no control at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

# Defined there, where `probe control serve --help` reads them without importing the server; re-exported here.
from probe.control.defaults import DEFAULT_BODY_CAP as DEFAULT_BODY_CAP
from probe.control.defaults import DEFAULT_BUDGET_S as DEFAULT_BUDGET_S
from probe.control.server.guard import AddressGuard
from probe.models.settings import DEFAULT_USER_AGENT


@dataclass(frozen=True)
class HelperSettings:
    resolver: str | None = None  # "ip[:port]" for DNS over UDP; None: the system resolver (getaddrinfo)
    ca_bundle: Path | None = None  # roots for target certificates; None: certifi
    guard: AddressGuard = field(default_factory=AddressGuard)
    body_cap: int = DEFAULT_BODY_CAP
    max_endpoints: int = 8  # the union of the helper's and the probe's addresses is cut to this
    max_redirects: int = 10
    dns_timeout_s: float = 4.0
    tcp_timeout_s: float = 8.0
    tls_timeout_s: float = 8.0
    http_timeout_s: float = 12.0
    budget_s: float = DEFAULT_BUDGET_S  # one request, from DNS to the last redirect
    user_agent: str = DEFAULT_USER_AGENT
    # TLD -> registry server replacing the shipped one ("https://..." RDAP, "whois://HOST[:PORT]"); see
    # probe.control.server.registry: asked only about names the helper cannot resolve.
    registries: dict[str, str] = field(default_factory=dict)

    def with_budget(self, budget_s: float) -> HelperSettings:
        """These settings with step timeouts scaled down to fit a smaller budget (the lab is quick)."""
        scale = min(1.0, budget_s / DEFAULT_BUDGET_S)
        return replace(self, budget_s=budget_s, dns_timeout_s=4.0 * scale, tcp_timeout_s=8.0 * scale,
                       tls_timeout_s=8.0 * scale, http_timeout_s=12.0 * scale)
