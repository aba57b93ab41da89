"""Builds parts of a run from settings: its targets, its classifier and its ASN lookup.

A part that is not configured leaves a gap the run command names on stderr, and the probe still
measures: no control → verdicts are `inconclusive`; no ASN database here or at the helper → AS0/ZZ;
no key → measurements are chained but unsigned. What a run holds open (store, control client, key,
own addresses) is opened and closed by `probe.cli.session.open_run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from probe.errors import InputError
from probe.identity.identifier import NetworkIdentifier
from probe.models import Measurement, Target, Verdict
from probe.models.settings import MeasureSettings


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
