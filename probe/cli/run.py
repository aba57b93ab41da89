"""`probe run`: measure URLs or a list from this network, store the evidence, print a summary."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from probe.cli.options import registry_option, store_option
from probe.errors import InputError
from probe.i18n import _

if TYPE_CHECKING:
    from pydantic import ValidationError

    from probe.cli.progress import RunDisplay
    from probe.identity.identifier import NetworkIdentifier
    from probe.measure.runner import RunOutcome, RunSummary
    from probe.models.settings import MeasureSettings

# The engine (measuring, storing, the progress display) is imported when the command runs, not when
# the CLI is built: `probe run --help` reads only the options below.


@click.command("run")
@click.argument("urls", nargs=-1)
@click.option("--list", "list_name", help="A target list: a shipped name (kz, article15) or a CSV path.")
@click.option("--category", help="Only these category codes, comma-separated (e.g. LGBT,HUMR).")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Write one JSON object per measurement to stdout.")
@click.option("--parallel", type=click.IntRange(1, 1024), default=64, show_default=True,
              help="URLs measured at once (one waiting out a censor's silence lends its place meanwhile).")
@click.option("--resolver", help="ISP resolver for DNS over UDP (default: first nameserver in /etc/resolv.conf).")
@click.option("--control", "controls", multiple=True, help="Control helper URL (repeat for fallbacks).")
@click.option("--doh", help="DNS-over-HTTPS resolver URL used as control when no helper answers.")
@click.option("--ca-bundle", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Trusted roots for certificate validation (default: certifi's Mozilla roots).")
@click.option("--asn-db", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Offline IP-to-ASN database (iptoasn TSV or mmdb); without one, networks are AS0/ZZ.")
@click.option("--decoy-sni", default="example.org", show_default=True, help="SNI for the decoy handshake.")
@click.option("--not-bogon", multiple=True, help="CIDR to treat as public although reserved (labs).")
@click.option("--allow-private-targets", is_flag=True,
              help="Also measure targets on private, loopback, link-local, unique-local, multicast or "
                   "unspecified addresses and local names (localhost, *.lan, *.home.arpa). Off by default: "
                   "a shared list (or a redirect) must not make you fetch and sign pages from your own "
                   "network. "
                   "--not-bogon ranges count as public.")
@click.option("--well-known", multiple=True, metavar="IP:PORT",
              help="Address that tells an internet shutdown from blocked helpers (default: public "
                   "anycast resolvers, only with public control helpers).")
@click.option("--fingerprints", type=click.Path(path_type=Path, file_okay=False),
              help="Folder with blockpage fingerprint CSVs (default: the shipped ones).")
@click.option("--timeout-dns", type=float, default=4.0, show_default=True)
@click.option("--timeout-tcp", type=float, default=10.0, show_default=True)
@click.option("--timeout-tls", type=float, default=10.0, show_default=True)
@click.option("--timeout-http", type=float, default=15.0, show_default=True)
@click.option("--body-cap", type=int, default=512 * 1024, show_default=True, help="Body snapshot cap in bytes.")
@click.option("--key", "key_path", type=click.Path(path_type=Path),
              help="Signing key (default: the one from probe init).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--wide", is_flag=True, help="Every column of the table in full (default: fit the terminal).")
@registry_option
def run_command(urls: tuple[str, ...], list_name: str | None, category: str | None, store_path: Path,
                as_json: bool, parallel: int, resolver: str | None, controls: tuple[str, ...],
                doh: str | None, ca_bundle: Path | None, asn_db: Path | None, decoy_sni: str,
                not_bogon: tuple[str, ...], allow_private_targets: bool, well_known: tuple[str, ...],
                fingerprints: Path | None, timeout_dns: float,
                timeout_tcp: float, timeout_tls: float, timeout_http: float, body_cap: int,
                key_path: Path | None, no_progress: bool, wide: bool, registries: dict[str, str]) -> None:
    """Measure URLs (or a list) over DNS, TCP, TLS and HTTP, compare with a control, store the evidence.

    \b
    Example:
      probe run https://selftanu.kz/ http://who.int/
      probe run --list kz --category LGBT,HUMR --control https://control.example.net/
      probe run --json --list article15 > results.jsonl
    """
    from pydantic import ValidationError

    from probe.cli.eventloop import run
    from probe.cli.limits import raise_file_limit
    from probe.cli.wiring import load_run_targets
    from probe.models.settings import MeasureSettings, Timeouts

    try:
        settings = MeasureSettings(
            parallel=parallel, resolver=resolver, control_urls=list(controls), doh_url=doh, ca_bundle=ca_bundle,
            asn_db=asn_db, decoy_sni=decoy_sni, not_bogon=list(not_bogon),
            allow_private_targets=allow_private_targets, fingerprints_dir=fingerprints,
            body_cap_bytes=body_cap, registries=registries, well_known=list(well_known) or None,
            timeouts=Timeouts(dns_s=timeout_dns, tcp_s=timeout_tcp, tls_s=timeout_tls, http_s=timeout_http))
    except ValidationError as exc:
        raise InputError(_first_problem(exc), hint=_("see `probe run --help`")) from exc
    _check_trust_store(settings)
    targets, total = load_run_targets(urls, list_name, category, on_error=_print_input_error,
                                      settings=settings)
    raise_file_limit()
    try:
        summary, display = run(_run(targets, total, settings, store_path=store_path, key_path=key_path,
                                            list_name=list_name, as_json=as_json,
                                            progress=not no_progress and not as_json and sys.stderr.isatty()))
    except (asyncio.CancelledError, KeyboardInterrupt):
        click.echo(_("interrupted: in-flight measurements abandoned; finished ones are stored"), err=True)
        sys.exit(130)
    if not as_json:
        from probe.cli.tables import print_run_table

        print_run_table(summary, display.rows, display.hidden_ok, store_path, hidden_other=display.hidden_other,
                        wide=wide)
    if summary.network_down is not None:
        click.echo(f"network down: {summary.network_down.summary()} Every verdict of this run is "
                   "'inconclusive'.", err=True)
    if summary.interrupted:
        click.echo(_("stopped early: finished measurements are stored"), err=True)
        sys.exit(130)


def _note_gaps(settings: MeasureSettings, *, signed: bool) -> None:
    """One stderr line for each part that is not configured: the probe measures anyway, with less."""
    if not settings.control_urls and not settings.doh_url:
        click.echo(_("note: no control helper given (--control URL): without an uncensored view to compare "
                     "with, verdicts will be 'inconclusive'"), err=True)
    if settings.asn_db is None and not settings.control_urls:
        click.echo(_("note: no IP-to-ASN database given (--asn-db FILE): networks will show as AS0/ZZ"), err=True)
    if not signed:
        click.echo(_("note: measurements are chained but not signed: run `probe init` to make this probe's key"),
                   err=True)


def _note_network(settings: MeasureSettings, identify: NetworkIdentifier) -> None:
    """With helpers and no database of our own: whether a helper named the network, once it was asked."""
    for problem in identify.problems:
        click.echo(_("note: a control helper's network answer was refused ({problem})").format(problem=problem),
                   err=True)
    if settings.asn_db is None and settings.control_urls and not identify.helper_named_a_network:
        click.echo(_("note: no IP-to-ASN database given (--asn-db FILE): networks will show as AS0/ZZ"), err=True)


_FLAGS = {"dns_s": "--timeout-dns", "tcp_s": "--timeout-tcp", "tls_s": "--timeout-tls", "http_s": "--timeout-http",
          "body_cap_bytes": "--body-cap", "control_urls": "--control", "doh_url": "--doh", "fingerprints_dir":
          "--fingerprints"}


def _first_problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = str(err["loc"][-1]) if err["loc"] else ""
    flag = _FLAGS.get(field, "--" + field.replace("_", "-"))
    return f"{flag}: {err['msg'].removeprefix('Value error, ')}"


def _check_trust_store(settings: MeasureSettings) -> None:
    from probe.net.certs import check_bundle

    try:
        check_bundle(settings.ca_bundle)
    except (ValueError, OSError) as exc:
        raise InputError(_("--ca-bundle {path}: not a PEM bundle of CA certificates ({problem})").format(
            path=settings.ca_bundle, problem=exc)) from exc


def _print_input_error(message: str) -> None:
    click.echo(_("skipped: {message}").format(message=message), err=True)


async def _run(targets: Any, total: int, settings: MeasureSettings, *, store_path: Path, key_path: Path | None,
               list_name: str | None, as_json: bool, progress: bool) -> tuple[RunSummary, RunDisplay]:
    from probe.cli.progress import RunDisplay
    from probe.cli.session import open_run
    from probe.measure.runner import run_targets

    display = RunDisplay(total=total, enabled=progress)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _stopper(stop, display, main))

    def on_result(outcome: RunOutcome) -> None:
        if as_json:
            sys.stdout.write(_json_line(outcome) + "\n")
            sys.stdout.flush()
        display.add(outcome)

    async with open_run(settings=settings, store=store_path, key_path=key_path) as session:
        _note_gaps(settings, signed=session.signer is not None)
        _note_network(settings, session.identify)
        ctx = session.context(list_name=list_name, stop=stop, on_result=on_result,
                              on_error=lambda _target, message: display.note(message))
        with display:
            return await run_targets(targets, ctx), display


def _stopper(stop: asyncio.Event, display: Any, main: asyncio.Task[Any]) -> Any:
    def handler() -> None:
        if stop.is_set():
            main.cancel()  # second signal: abandon what is in flight
            return
        stop.set()
        display.note(_("stopping: finishing the measurements in flight (Ctrl-C again to abandon them)"))
    return handler


def _json_line(outcome: RunOutcome) -> str:
    """One line of --json; its "measurement" is the stored record's canonical text itself (whose SHA-256
    is the record hash), not parsed and encoded again."""
    head = json.dumps({"measurement_id": outcome.measurement.measurement_id, "input": outcome.measurement.input,
                       "verdict": outcome.verdict.model_dump(mode="json") if outcome.verdict else None,
                       "chain_hash": outcome.entry.chain_hash}, ensure_ascii=False)
    return f'{head[:-1]}, "measurement": {outcome.entry.record}}}'

