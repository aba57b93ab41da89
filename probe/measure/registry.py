"""When and whom the probe asks about a name that resolves nowhere (issue 16, `dns.takedown`).

Asked once per measurement, after the control's answer: only when the probe's own lookups of the
input URL's host said the name does not exist (NXDOMAIN or no address) and the control could not
resolve it either (or there is no control). A name the control resolves is the ISP's doing, and the
registry has nothing to add. The look-up itself is probe.net.registry.
"""

from __future__ import annotations

from functools import lru_cache

from probe import failures
from probe.models import ControlResponse
from probe.models.registry import RegistryObservation
from probe.models.settings import MeasureSettings
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.registry import RegistryTable, load_table, registry_lookup

NO_SUCH_NAME = frozenset({failures.DNS_NXDOMAIN, failures.DNS_NO_ANSWER})


@lru_cache(maxsize=8)
def _table(overrides: tuple[tuple[str, str], ...]) -> RegistryTable:
    return load_table().with_overrides(dict(overrides))


def registry_table(settings: MeasureSettings) -> RegistryTable:
    """The shipped table with the settings' overrides (read once per distinct set of overrides)."""
    return _table(tuple(sorted(settings.registries.items())))


def should_ask(*, failure: str | None, operation: str | None, first_hop: bool,
               control: ControlResponse | None) -> bool:
    if not first_hop or operation != failures.RESOLVE or failure not in NO_SUCH_NAME:
        return False
    return control is None or (not control.dns.addresses and control.dns.failure in NO_SUCH_NAME)


async def ask_registry(host: str, *, settings: MeasureSettings, clock: Clock,
                       sink: ArtifactSink) -> list[RegistryObservation]:
    """The probe's own look-up of `host`'s registered name; [] when no registry is known for its TLD."""
    table = registry_table(settings)
    domain = table.registered_domain(host)
    server = table.server_for(domain) if domain else None
    if domain is None or server is None:
        return []
    timeout = settings.timeouts.tcp_s + settings.timeouts.http_s
    return [await registry_lookup(domain, server, timeout_s=timeout, ca_bundle=settings.ca_bundle,
                                  clock=clock, sink=sink)]
