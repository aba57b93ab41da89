"""`probe results` (list stored measurements) and `probe show ID` (one measurement in full)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from probe.cli.damage import store_read_errors
from probe.cli.options import store_option
from probe.errors import InputError
from probe.i18n import _

if TYPE_CHECKING:
    from probe.evidence.history import HistoryMark
    from probe.store import EntryFilter, Store, StoredEntry

# The store, the history marks and rich are imported when a command runs, not when the CLI is built:
# `probe results --help` and `probe show --help` read only the options below.


@click.command("results")
@store_option
@click.option("--url", help="Only this URL (exact).")
@click.option("--host", help="Only this host name.")
@click.option("--since", help="From this UTC time or date (ISO-8601, e.g. 2026-11-01).")
@click.option("--until", help="Up to this UTC time or date (ISO-8601).")
@click.option("--verdict", help="Only this verdict label, or 'blocked' for any censorship verdict.")
@click.option("--limit", type=click.IntRange(min=0), default=200, show_default=True,
              help="Show only the newest N matching measurements (0: all of them).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@click.option("--wide", is_flag=True, help="Every column in full, wrapped (default: one line per row, fitted).")
@click.option("--source", type=click.Choice(["own", "ooni"]), default="own", show_default=True,
              help="own: this probe's measurements; ooni: OONI's, imported with `probe import ooni`.")
@store_read_errors
def results_command(store_path: Path, url: str | None, host: str | None, since: str | None, until: str | None,
                    verdict: str | None, limit: int, as_json: bool, wide: bool, source: str) -> None:
    """List stored measurements, newest last (the newest 200 unless --limit says otherwise).

    When more measurements match than are shown, stderr says how many. A URL that was reachable and
    then became unavailable everywhere (the control too) gets a history mark: "reachable until DATE,
    unavailable everywhere since DATE", with both measurements' ids, for review (docs/verdicts.md).

    \b
    Example:
      probe results --since 2026-11-01 --verdict blocked
      probe results --host selftanu.kz --json
      probe results --limit 0 > everything.txt
      probe results --wide              # full URLs and failures, wrapped
      probe results --source ooni --verdict blocked
    """
    if source == "ooni":
        from probe.cli.third_party_results import print_third_party
        from probe.store.third_party import ThirdPartyFilter

        shown = print_third_party(store_path, ThirdPartyFilter(source="ooni", url=url, host=host, since=since,
                                                               until=_until(until), verdict=verdict,
                                                               limit=limit or None), as_json=as_json)
        if not shown:
            click.echo(_("no imported OONI measurement matches"), err=True)
        return
    from probe.store import EntryFilter, Store

    filt = EntryFilter(url=url, host=host, since=since, until=_until(until), verdict=verdict, limit=limit or None)
    with Store.open(store_path, create=False) as store:
        marks = _marks(store, filt)
        if as_json:
            n = _print_json(store.entries(filt), marks)
        else:
            from probe.cli.tables import print_entries

            n = print_entries(store.entries(filt), wide=wide)
            _print_marks(marks)
        if n == 0:
            click.echo(_("no stored measurement matches"), err=True)
        elif limit and n == limit and (total := store.count(filt)) > n:
            click.echo(_("showing {shown} of {total} matching measurements (the newest); "
                         "--limit 0 shows all, --since narrows by date").format(shown=n, total=total), err=True)


def _marks(store: Store, filt: EntryFilter) -> dict[str, HistoryMark]:
    """History marks of the URLs listed, from each URL's whole history (not only the rows shown)."""
    from probe.evidence.history import HistoryPoint, history_marks

    urls = {e.input for e in store.entries(filt)}
    return history_marks(HistoryPoint(url=u, time=t, measurement_id=mid, label=label)
                         for u, t, mid, label in store.label_history(urls))


def _print_marks(marks: dict[str, HistoryMark]) -> None:
    if not marks:
        return
    click.echo("History marks (for review):")
    for url, mark in sorted(marks.items()):
        click.echo(f"  {url}: {mark.sentence()} Last reachable: measurement {mark.reachable_id}; first "
                   f"unavailable: measurement {mark.unavailable_id} (`probe show ID`).")


def _print_json(entries: Iterable[StoredEntry], marks: dict[str, HistoryMark]) -> int:
    n = 0
    for n, e in enumerate(entries, start=1):  # noqa: B007 (n is the count after the loop)
        line: dict[str, object] = {"measurement_id": e.measurement_id, "input": e.input,
                                   "test_start_time": e.test_start_time, "probe_asn": e.probe_asn,
                                   "verdict": e.verdict.label if e.verdict else None}
        if e.input in marks:
            line["history"] = marks[e.input].to_json()
        click.echo(json.dumps(line))
    return n


def _until(value: str | None) -> str | None:
    """A bare date means the whole of that day."""
    if value and len(value) == 10:
        return value + "T23:59:59.999999Z"
    return value


@click.command("show")
@click.argument("measurement_id")
@store_option
@click.option("--json", "as_json", is_flag=True, help="The stored record and verdict as JSON.")
@store_read_errors
def show_command(measurement_id: str, store_path: Path, as_json: bool) -> None:
    """Print one stored measurement in full: every observation, the control, the verdict and its reasons.

    \b
    Example:
      probe show 3f2a9c1e
      probe show 3f2a9c1e --json | jq .measurement.tls_handshakes
    """
    from probe.store import Store

    with Store.open(store_path, create=False) as store:
        entry = store.get(measurement_id)
        if entry is None:
            raise InputError(_("no measurement with id {id} in {store}").format(id=repr(measurement_id),
                                                                               store=store_path),
                             hint=_("`probe results` lists ids; give at least 6 characters"))
        record = json.loads(entry.record)
        verdict = entry.verdict.model_dump(mode="json") if entry.verdict else None
        if as_json:
            click.echo(json.dumps({"measurement": record, "verdict": verdict, "chain_hash": entry.chain_hash,
                                   "prev_hash": entry.prev_hash, "signature": entry.signature}, indent=2,
                                  ensure_ascii=False))
            return
        _print_human(entry.measurement_id, record, verdict, entry.chain_hash)


def _print_human(mid: str, record: dict[str, object], verdict: dict[str, object] | None, link: str) -> None:
    from rich.console import Console

    from probe.cli.show import render_measurement

    console = Console()
    console.print(render_measurement(mid, record, verdict, link))
