"""`probe reclassify`: re-run classification over stored measurements after rules or fingerprints change.

The stored observations (the hashed, chained records) are never touched. A verdict that changed, or
one made before verdicts were chained (unsigned), gets a new verdict record appended to the chain,
signed with the probe's key; the earlier records stay, and the verdicts index points at the newest.
Prints how many verdicts changed, and which labels moved.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from probe.cli.damage import store_read_errors
from probe.cli.evidence import key_option
from probe.cli.options import store_option
from probe.errors import ConfigError, InputError
from probe.i18n import _

if TYPE_CHECKING:
    from probe.classify import ClassifyContext
    from probe.models import Measurement, Verdict
    from probe.store.store import Store

# Classification, the models and the store are imported when the command runs, not when the CLI is
# built: `probe reclassify --help` reads only the options below.


def _context(fingerprints: Path | None, not_bogon: tuple[str, ...]) -> ClassifyContext:
    from probe.classify import make_context
    from probe.models.settings import MeasureSettings

    try:
        return make_context(MeasureSettings(fingerprints_dir=fingerprints, not_bogon=list(not_bogon)))
    except FileNotFoundError as exc:
        raise InputError(str(exc), hint=_("--fingerprints takes a folder of OONI-format *.csv files")) from exc
    except ValueError as exc:
        raise ConfigError(_("cannot build the classification context: {problem}").format(problem=exc)) from exc


def _bodies(store: Store, measurement: Measurement) -> dict[str, bytes]:
    """The HTTP bodies still in the store (pruned ones are missing; classify says so in its reasons)."""
    found: dict[str, bytes] = {}
    wanted = {ref.sha256 for ref in measurement.artifacts if ref.kind == "http_body"}
    wanted |= {r.response.body_sha256 for r in measurement.requests if r.response and r.response.body_sha256}
    for sha256 in wanted:
        data = store.artifact(sha256)
        if data is not None:
            found[sha256] = data
    return found


def _same(old: Verdict | None, new: Verdict, *, signed: bool) -> bool:
    """Unchanged and already a chained record: nothing to append."""
    return signed and old is not None and old.model_dump() == new.model_dump()


@click.command("reclassify")
@store_option(help="The store to reclassify (default: as for probe run).")
@click.option("--url", help="Only measurements of this exact URL.")
@click.option("--since", help="Only measurements started at or after this UTC time (ISO-8601 prefix).")
@click.option("--fingerprints", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of OONI-format fingerprint CSVs (default: the ones shipped with the probe).")
@click.option("--not-bogon", multiple=True, metavar="CIDR",
              help="A reserved range that counts as public here (repeatable; the lab passes its own).")
@click.option("--dry-run", is_flag=True, help="Count what would change; write nothing.")
@key_option
@store_read_errors
def reclassify(store_path: Path, url: str | None, since: str | None, fingerprints: Path | None,
               not_bogon: tuple[str, ...], dry_run: bool, key_path: Path | None) -> None:
    """Re-run classification over stored measurements, keeping their observations untouched.

    Use it after the rules or the fingerprints change: each verdict is recomputed from the stored
    observations and bodies (a pruned body is noted in the reasons). A verdict that differs, or one
    made before verdicts were signed, is appended to the chain as a new signed verdict record (with
    the probe's key, as measurements are); the old records stay, so the history shows both.

    \b
    Example:
      probe reclassify                                  # the whole default store
      probe reclassify --since 2026-11-01 --dry-run     # what would change this month
      probe reclassify --store lab.sqlite --not-bogon 198.18.0.0/15 --fingerprints my-fps/
    """
    from probe.classify import classify
    from probe.evidence.keys import load_signer
    from probe.store.store import EntryFilter, Store

    signer = None if dry_run else load_signer(key_path)
    ctx = _context(fingerprints, not_bogon)
    for warning in ctx.fingerprints.warnings:
        click.echo(_("warning: fingerprints: {problem}").format(problem=warning), err=True)
    seen = changed = 0
    moves: Counter[str] = Counter()
    with Store.open(store_path, create=False) as store:
        ids = [e.measurement_id for e in store.entries(EntryFilter(url=url, since=since))]
        for measurement_id in ids:  # ids first: writing while a read cursor is open is asking for trouble
            entry = store.get(measurement_id)
            if entry is None:
                continue
            measurement = entry.measurement()
            verdict = classify(measurement, bodies=_bodies(store, measurement), context=ctx)
            seen += 1
            if _same(entry.verdict, verdict, signed=bool(store.verdict_links(measurement_id))):
                continue
            changed += 1
            old = entry.verdict.label if entry.verdict else "none"
            if old != verdict.label:
                moves[f"{old} -> {verdict.label}"] += 1
            if not dry_run:
                store.append_verdict(measurement_id, verdict, signer=signer)
    said = (_("{seen} measurements reclassified with rules {rules}: {changed} verdicts would change.") if dry_run
            else _("{seen} measurements reclassified with rules {rules}: {changed} verdicts changed."))
    click.echo(said.format(seen=seen, rules=ctx.rules_version, changed=changed))
    for move, count in sorted(moves.items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"  {count:6d}  {move}")
