"""Builds what a run needs from settings: targets, control client, classifier, identity, signer.

A part that is not configured leaves a gap the run command names on stderr, and the probe still
measures: no control → verdicts are `inconclusive`; no ASN database here or at the helper → AS0/ZZ;
no key → measurements are chained but unsigned. The own-address memory (`probe.store.own_addresses`)
sits beside the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from probe.errors import InputError
from probe.evidence.keys import own_address_key_path
from probe.identity.identifier import NetworkIdentifier
from probe.measure.netcheck import check_network, well_known_set
from probe.measure.runner import RunContext, RunOutcome
from probe.models import Measurement, Target, Verdict
from probe.models.settings import MeasureSettings
from probe.net.dns import system_nameserver
from probe.store import Signer, Store
from probe.store.own_addresses import OwnAddressMemory, memory_path

# The probe's own addresses learned by any run in this process (the daemon runs many): every later
# measurement is scrubbed of all of them. In memory only, never written anywhere.
_OWN_ADDRESSES: set[str] = set()


def normalise_cli_url(url: str) -> Target:
    """One URL typed on the command line → a Target, or InputError naming it."""
    from probe.targets import normalise_url

    return Target(url=normalise_url(url))


def load_run_targets(urls: Iterable[str], list_name: str | None, category: str | None,
                     on_error: Callable[[str], None], *,
                     settings: MeasureSettings) -> tuple[Iterator[Target], int]:
    """Targets from URL arguments and/or a list; bad URL arguments are reported and skipped, and so are
    targets on the volunteer's own machine or network unless `settings.allow_private_targets`."""
    targets: list[Target] = []
    for url in urls:
        try:
            targets.append(normalise_cli_url(url))
        except InputError as exc:
            on_error(str(exc))
    if list_name:
        from probe.targets import load_targets, resolve_list

        categories = {c.strip().upper() for c in category.split(",")} if category else None
        targets.extend(load_targets(resolve_list(list_name), categories=categories, on_error=on_error))
    if not settings.allow_private_targets:
        targets = _public_only(targets, settings.not_bogon, on_error)
    if not targets:
        raise InputError("nothing to measure", hint="give URLs or --list NAME (e.g. probe run --list kz)")
    return iter(targets), len(targets)


def _public_only(targets: list[Target], public_ranges: list[str], on_error: Callable[[str], None]) -> list[Target]:
    from probe.targets.urls import private_target

    kept = []
    for target in targets:
        reason = private_target(target.url, public_ranges=public_ranges)
        if reason is None:
            kept.append(target)
        else:
            on_error(f"{target.url}: not measured: {reason} (hint: pass --allow-private-targets, or set "
                     "allow_private_targets = true under [measure], to measure your own network on purpose)")
    return kept


def make_classifier(settings: MeasureSettings) -> Callable[[Measurement, Mapping[str, bytes]], Verdict]:
    from probe.classify import classify, make_context

    try:
        context = make_context(settings)
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot load the blockpage fingerprints: {exc}",
                         hint="check --fingerprints DIR (OONI-format CSV files)") from exc

    def classifier(measurement: Measurement, bodies: Mapping[str, bytes]) -> Verdict:
        return classify(measurement, bodies=bodies, context=context)

    return classifier


def make_identify(asn_db: Path | None) -> NetworkIdentifier:
    """The run's network lookup: `asn_db` first, then what the helpers name (learned before measuring)."""
    return NetworkIdentifier.open(asn_db)


def make_control(settings: MeasureSettings) -> Any:
    if not settings.control_urls and not settings.doh_url:
        return None
    from probe.control.client import ControlClient

    timeout = settings.timeouts.tcp_s + settings.timeouts.tls_s + settings.timeouts.http_s + 5
    return ControlClient(urls=settings.control_urls, ca_bundle=settings.ca_bundle, doh_url=settings.doh_url,
                         timeout_s=timeout)


async def build_run_context(settings: MeasureSettings, store: Store, *, on_result: Callable[[RunOutcome], None],
                            list_name: str | None, stop: asyncio.Event, signer: Signer | None,
                            on_error: Callable[[Target, str], None] | None = None,
                            identify: NetworkIdentifier | None = None) -> RunContext:
    """`identify`: an ASN lookup made earlier (`probe run` opens the database before the store, so a
    bad file leaves nothing behind); None opens `settings.asn_db` here. It learns the networks the
    helpers name before the first measurement."""
    resolver = settings.resolver or system_nameserver()
    control = make_control(settings)
    memory = OwnAddressMemory.load(memory_path(store.path), own_address_key_path())
    identify = identify or make_identify(settings.asn_db)
    if control is not None:
        await _learn_public_addresses(control, memory, identify)
    well_known = well_known_set(settings.well_known, settings.control_urls)
    check = functools.partial(check_network, control_urls=settings.control_urls, resolver=resolver,
                              name=settings.decoy_sni, well_known=well_known)
    return RunContext(settings=settings, store=store, resolver=resolver, control=control, check_network=check,
                      classifier=make_classifier(settings), identify=identify,
                      signer=signer, on_result=on_result, list_name=list_name, stop=stop,
                      on_error=on_error, own_addresses=_OWN_ADDRESSES,
                      own_memory=memory)


async def _learn_public_addresses(control: Any, memory: OwnAddressMemory, identify: NetworkIdentifier) -> None:
    """Before measuring: the public addresses the helpers see us at, per address family, so the very
    first measurements scrub them too (an origin may echo the IPv4 address while the helper is reached
    over IPv6), and the networks their databases name. Loopback means a helper on this machine: not
    an address anyone could leak."""
    seen = await control.whoami()
    identify.learn((s.helper, s.address, s.network, s.problem) for s in seen)
    learned = {s.address for s in seen if not ipaddress.ip_address(s.address).is_loopback}
    _OWN_ADDRESSES.update(learned)
    with contextlib.suppress(OSError):
        memory.remember(learned)
