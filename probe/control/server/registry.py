"""The helper's registry look-up for a name it cannot resolve: the control's half of `dns.takedown`.

When the helper's own resolver says the name does not exist (NXDOMAIN or no address), it asks the
name's registry (probe.net.registry: RDAP, else WHOIS) and answers with what it saw, the raw answer
inline (base64, at most probe.net.registry.MAX_ANSWER_BYTES) since the control API carries no
artifacts. Names it resolves, and TLDs without a known registry, get no look-up. The registry's
address is not checked against the helper's guard: it comes from the shipped table or the operator's
`--registry`, never from the probe.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from probe import failures
from probe.control.server.settings import HelperSettings
from probe.models.registry import ControlRegistry
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.registry import RegistryTable, load_table, registry_lookup

_NO_SUCH_NAME = frozenset({failures.DNS_NXDOMAIN, failures.DNS_NO_ANSWER})


@lru_cache(maxsize=4)
def _table(overrides: tuple[tuple[str, str], ...]) -> RegistryTable:
    return load_table().with_overrides(dict(overrides))


async def registry_answer(host: str, dns_failure: str | None, *, settings: HelperSettings,
                          clock: Clock) -> ControlRegistry | None:
    if dns_failure not in _NO_SUCH_NAME:
        return None
    table = _table(tuple(sorted(settings.registries.items())))
    domain = table.registered_domain(host)
    server = table.server_for(domain) if domain else None
    if domain is None or server is None:
        return None
    sink = ArtifactSink()
    timeout = max(1.0, min(settings.tcp_timeout_s + settings.http_timeout_s, settings.budget_s - clock()))
    obs = await registry_lookup(domain, server, timeout_s=timeout,
                                ca_bundle=settings.ca_bundle, clock=clock, sink=sink)
    raw = sink.get(obs.raw_sha256) if obs.raw_sha256 else None
    return ControlRegistry(observation=obs, raw_b64=base64.b64encode(raw).decode("ascii") if raw else None)
