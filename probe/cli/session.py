"""One owner for a run: `open_run` opens what a run holds and closes it however the run ends.

`probe run` and the daemon (and so the lab runner, which drives `probe run`) measure inside
`async with open_run(...) as session`. The session holds the signer, the ASN lookup, the store
handle, the control client and the own-address memory with the addresses this run learns; each
run has its own, so two runs in one process never share learned addresses in memory (they meet
only through the memory on disk, as keyed hashes). Opening is ordered so that a bad key or ASN
database fails before the store is created, and a run that fails or is cancelled mid-way still
closes the control client and the store. The daemon hands every run its one store handle instead
of a path (one connection per process: its state, uploads and runs write through it); a handle
handed in is borrowed and left open. This module opens and closes; it does not measure
(`probe.measure.runner`) or choose targets (`probe.cli.wiring`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from probe.cli.wiring import make_classifier, make_identify
from probe.control.client.api import ControlClient
from probe.errors import StoreError
from probe.evidence.keys import load_signer, own_address_memory
from probe.i18n import _
from probe.measure.netcheck import check_network, well_known_set
from probe.measure.runner import Classifier, Identify, RunContext, RunOutcome
from probe.models import Target
from probe.models.settings import MeasureSettings
from probe.net.dns import system_nameserver
from probe.store import Signer, Store
from probe.store.own_addresses import OwnAddressMemory
from probe.store.sink import StoreSink

MIN_FREE_BYTES = 20 * 1024 * 1024


@dataclass
class RunSession:
    """What one run holds open; `open_run` made it and closes it."""

    settings: MeasureSettings
    store: Store
    signer: Signer | None
    control: ControlClient | None
    own_memory: OwnAddressMemory
    identify: Identify
    classifier: Classifier
    # This run's own addresses (the control's view of us, local sockets): scrubbed from every
    # measurement of this run. Never shared with another run, never written in plain text.
    own_addresses: set[str] = field(default_factory=set)

    def context(self, *, list_name: str | None, stop: asyncio.Event, run_id: str | None = None,
                on_result: Callable[[RunOutcome], None] | None = None,
                on_error: Callable[[Target, str], None] | None = None) -> RunContext:
        """The runner's view of this session."""
        settings = self.settings
        resolver = settings.resolver or system_nameserver()
        well_known = well_known_set(settings.well_known, settings.control_urls)
        check = functools.partial(check_network, control_urls=settings.control_urls, resolver=resolver,
                                  name=settings.decoy_sni, well_known=well_known)
        return RunContext(settings=settings, sink=StoreSink(self.store, signer=self.signer), resolver=resolver,
                          control=self.control, check_network=check, classifier=self.classifier,
                          identify=self.identify, on_result=on_result, on_error=on_error, list_name=list_name,
                          stop=stop, run_id=run_id, own_addresses=self.own_addresses, own_memory=self.own_memory)


@contextlib.asynccontextmanager
async def open_run(*, settings: MeasureSettings, store: Path | Store, key_path: Path | None,
                   identify: Identify | None = None) -> AsyncIterator[RunSession]:
    """Open a run's signer (`key_path`, else the default key), ASN lookup (`identify`, else
    `settings.asn_db`), fingerprints, store (a path: opened here and closed on the way out; an open
    Store: borrowed), control client and own-address memory, in that order; learn the addresses the
    helpers see us at; close the client (and a store opened here) on the way out."""
    signer = load_signer(key_path)  # before the store: a bad key must not leave an empty store behind
    identify = identify or make_identify(settings.asn_db)  # likewise a database file that is not one
    classifier = make_classifier(settings)
    async with contextlib.AsyncExitStack() as stack:
        if not isinstance(store, Store):
            store = stack.enter_context(open_store(store))
        control = make_control(settings)
        if control is not None:
            await stack.enter_async_context(control)
        session = RunSession(settings=settings, store=store, signer=signer, control=control,
                             own_memory=own_address_memory(store.path), identify=identify, classifier=classifier)
        if control is not None:
            await _learn_public_addresses(control, session)
        yield session


def open_store(path: Path) -> Store:
    """The store at `path`, refused when its disk is nearly full (a run would fail part-way)."""
    store = Store.open(path)
    free = shutil.disk_usage(store.path.parent).free
    if free < MIN_FREE_BYTES:
        store.close()
        raise StoreError(_("only {kib} KiB free where the store lives ({folder})").format(
            kib=free // 1024, folder=path.parent), hint=_("free some space or choose another place with --store PATH"))
    return store


def make_control(settings: MeasureSettings) -> ControlClient | None:
    if not settings.control_urls and not settings.doh_url:
        return None
    timeout = settings.timeouts.tcp_s + settings.timeouts.tls_s + settings.timeouts.http_s + 5
    return ControlClient(urls=settings.control_urls, ca_bundle=settings.ca_bundle, doh_url=settings.doh_url,
                         timeout_s=timeout)


async def _learn_public_addresses(control: ControlClient, session: RunSession) -> None:
    """Before measuring: the public addresses the helpers see us at, per address family, so the very
    first measurements scrub them too (an origin may echo the IPv4 address while the helper is reached
    over IPv6). Loopback means a helper on this machine: not an address anyone could leak."""
    learned = {a for a in await control.public_addresses() if not ipaddress.ip_address(a).is_loopback}
    session.own_addresses |= learned
    with contextlib.suppress(OSError):
        session.own_memory.remember(learned)
