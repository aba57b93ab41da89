"""`probe daemon`, `probe status`, `probe config check` and `probe prune`: the scheduled probe's commands.

The daemon's log is one line per event on stderr (journald keeps it under systemd): plain
`key=value` text, or JSON objects with `--log-format json`. Lines name lists, run ids, counts and
durations, never IP addresses. Measuring a list is wired here (the scheduler is handed `_run_list`),
so `probe.schedule` stays free of the CLI.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from probe.cli.options import store_option
from probe.errors import ConfigError
from probe.i18n import N_, _

if TYPE_CHECKING:
    from probe.config import ProbeConfig, ScheduleEntry
    from probe.measure.runner import RunSummary
    from probe.store import Signer, Store

# The engine (the configuration's model, the store, measuring, signing, the scheduler) is imported when a
# command runs, not when the CLI is built: `probe daemon --help` (and status, config, prune) reads only the options.


def config_option(func: Any) -> Any:
    # Eager: --store's default (probe.config.default_store) is read from the file it names.
    return click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                        envvar="PROBE_CONFIG", default=None, is_eager=True,
                        help="Configuration file (default: $PROBE_CONFIG, else "
                             "$XDG_CONFIG_HOME/probe/config.toml).")(func)


class LineLog:
    """One structured line per event, to stderr: `time event key=value …` or a JSON object.

    When stderr is the journal (systemd sets $JOURNAL_STREAM to its device:inode), failures carry a
    `<3>` (error) and setbacks a `<4>` (warning) prefix, which journald reads as the priority and strips:
    `journalctl -u probe -p warning` then shows what needs a person.
    """

    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json
        self.journal = _stderr_is_journal()

    def __call__(self, event: str, **fields: Any) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.as_json:
            line = json.dumps({"time": now, "event": event, **fields}, ensure_ascii=False, sort_keys=False)
        else:
            line = " ".join([now, event, *(f"{k}={_text(v)}" for k, v in fields.items())])
        if self.journal:
            line = _priority(event, fields) + line
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


_ERRORS = {"run_given_up", "config_reload_failed"}
_WARNINGS = {"run_retry", "run_skipped", "network_down", "input_skipped", "unsigned"}


def _priority(event: str, fields: dict[str, Any]) -> str:
    if event in _ERRORS or (event == "run" and fields.get("status") == "failed"):
        return "<3>"
    if event in _WARNINGS or (event == "scheduler" and fields.get("level") in ("warning", "error", "critical")):
        return "<4>"
    return ""


def _stderr_is_journal() -> bool:
    import os

    stream = os.environ.get("JOURNAL_STREAM", "")
    device, _sep, inode = stream.partition(":")
    try:
        info = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return bool(stream) and f"{info.st_dev}:{info.st_ino}" == f"{device}:{inode}"


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in sorted(value.items())) or "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    text = str(value)
    return json.dumps(text) if not text or " " in text else text


@click.command("daemon")
@config_option
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="One line per event: key=value text, or JSON objects.")
def daemon_command(config_path: Path | None, log_format: str) -> None:
    """Run the scheduled probe in the foreground (for systemd): measure each list on its schedule.

    Stops cleanly on SIGTERM or Ctrl-C (finished measurements are always kept; a second signal
    abandons the ones in flight) and reloads the configuration on SIGHUP.

    \b
    Example:
      probe daemon --config /etc/probe/config.toml
      probe daemon --log-format json
      systemctl reload probe      # sends SIGHUP: re-read the configuration
    """
    from probe.cli.eventloop import run
    from probe.cli.limits import raise_file_limit
    from probe.config import default_config_path, load_config
    from probe.schedule.daemon import Daemon
    from probe.store import Store

    path = config_path or default_config_path()
    config = load_config(path)
    if not any(e.enabled for e in config.schedule):
        raise ConfigError(_("{path}: nothing to run: add a [[schedule]] entry (or enable one)").format(path=path),
                          hint=_("see docs/configuration.md"))
    assert config.store is not None
    log = LineLog(as_json=log_format == "json")
    _check_fingerprints(config)
    _check_signing(config.key, log)
    with Store.open(config.store) as store:
        daemon = Daemon(config=config, store=store, run_list=_list_runner(store, log), log=log,
                        reload_config=lambda: load_config(path), config_path=path)
        raise_file_limit()
        run(_serve(daemon))


async def _serve(daemon: Any) -> None:
    daemon.install_signal_handlers()
    await daemon.serve()


def _check_fingerprints(config: ProbeConfig) -> None:
    """Load the blockpage fingerprints once: a folder of broken files is one message at start, not a
    run of unclassified measurements at every scheduled time."""
    from probe.cli.wiring import make_classifier

    make_classifier(config.measure)


def _check_signing(key_path: Path | None, log: LineLog) -> None:
    """Load the signing key once at start: a key that is unreadable, malformed or readable by others
    is one message now (EvidenceError), not a failed run at every scheduled time."""
    from probe.evidence.keys import load_signer

    if load_signer(key_path) is None:
        log("unsigned", reason="no signing key yet: measurements are chained but not signed",
            hint="run `probe init`")


def _list_runner(store: Store, log: LineLog) -> Any:
    """The measuring the scheduler is handed: one list, continued under `run_id` if it has one, in a
    run of its own (`open_run`: its own control client and learned addresses; the daemon's store).
    After each run, the hubs this probe joined get what is new (in the background)."""
    from probe.cli.session import open_run
    from probe.cli.wiring import load_run_targets
    from probe.hub.upload import AfterRunUploader
    from probe.measure.runner import run_targets
    from probe.schedule.plan import RECENT_RUNS

    upload = AfterRunUploader(store, log=log)

    async def run_list(config: ProbeConfig, entry: ScheduleEntry, run_id: str, stop: asyncio.Event) -> RunSummary:
        def skipped(message: str) -> None:
            log("input_skipped", list=entry.key, error=message)

        targets, _skipped = load_run_targets((), entry.list, entry.category, on_error=skipped,
                                      settings=config.measure)
        try:
            async with open_run(settings=config.measure, store=store, key_path=config.key) as session:
                continued = any(r["run_id"] == run_id for r in session.store.runs(limit=RECENT_RUNS))
                summary = await run_targets(targets, session.context(list_name=entry.key, stop=stop, run_id=run_id))
                return _whole_run(session.store, summary, session.signer) if continued else summary
        finally:
            upload()
    return run_list


def _whole_run(store: Store, summary: RunSummary, signer: Signer | None) -> RunSummary:
    """A continued run's summary and runs row counting what it stored before the crash too.

    The runner counts only what it measured itself, so without this `probe status` would report
    a continued run as smaller than it is.
    """
    from probe.measure.runner import RunSummary
    from probe.schedule.plan import run_counts

    counts = run_counts(store, summary.run_id)
    status = "interrupted" if summary.interrupted else "finished"
    store.finish_run(summary.run_id, status, dict(counts), signer=signer)
    return RunSummary(run_id=summary.run_id, total=sum(counts.values()), counts=counts,
                      interrupted=summary.interrupted)


@click.command("status")
@config_option
@store_option(help="The store to report on (default: the configuration's store, else results/probe.sqlite).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status_command(config_path: Path | None, store_path: Path, as_json: bool) -> None:
    """Show whether the daemon runs, each list's next runs and last run (with counts), and store size.

    With no configuration file at the default place (a probe run by hand, never scheduled), it reports
    on the store alone (--store, else the default one) with no schedule; a --config that does not
    exist is still an error.

    \b
    Example:
      probe status
      probe status --config /etc/probe/config.toml --json
      probe status --store /srv/probe/copy.sqlite
    """
    from probe.config import ProbeConfig, default_config_path, load_config
    from probe.schedule.status import collect_status

    path = config_path or default_config_path()
    configured = config_path is not None or path.exists()
    if configured:
        config = load_config(path, check_files=False)
        config = config.model_copy(update={"store": store_path})
    else:  # `probe run` by hand, or a copied store, on a machine that never ran the daemon: nothing to schedule
        config = ProbeConfig(store=store_path)
    status = collect_status(config, config_path=path)
    if not configured:
        status.config = _("none (no configuration file at {path})").format(path=path)
    if as_json:
        click.echo(json.dumps(status.as_dict(), indent=1))
        return
    _print_status(status, configured=configured)


def _print_status(status: Any, *, configured: bool) -> None:
    # The network's state (up, down, …) is an identifier the daemon records; the words around it are translated.
    if status.daemon_running:
        since = _(" since {time}").format(time=status.network_since) if status.network_since else ""
        click.echo(_("daemon: running (pid {pid}, since {started}); network: {network}").format(
            pid=status.daemon_pid, started=status.daemon_started_at, network=status.network) + since)
    else:
        click.echo(_("daemon: not running (next runs below are what the schedule says)"))
    size = (_("{size} MiB").format(size=f"{status.store_size_bytes / 1_048_576:.1f}") if status.store_exists
            else _("not created yet"))
    click.echo(_("store: {store} ({count} measurements, {size})").format(
        store=status.store, count=status.measurements, size=size))
    click.echo(_("config: {config}").format(config=status.config))
    for hub in status.uploads:
        error = _(", last error: {error}").format(error=hub["last_error"]) if hub["last_error"] else ""
        click.echo(_("hub {url} ({name}): backlog {backlog}, last success {when}").format(
            url=hub["hub_url"], name=hub["hub_name"], backlog=hub["backlog"],
            when=hub["last_success_at"] or _("never")) + error)
    if not configured:
        click.echo(_("schedule: no configuration"))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=_("times in UTC"))
    for col in (N_("list"), N_("schedule"), N_("next run"), N_("last run"), N_("status"), N_("counts")):
        table.add_column(_(col), overflow="fold")
    for item in status.lists:
        last = item.last_run or {}
        counts = ", ".join(f"{k}: {v}" for k, v in sorted((last.get("counts") or {}).items()))
        next_run = _("running now") if item.running else (
            _short(item.next_runs[0]) if item.next_runs else _("disabled"))
        started = last.get("started_at")
        table.add_row(item.name, item.trigger, next_run, _short(str(started)) if started else _("never"),
                      _run_status(last, item.failing), counts or "-")
    Console(width=max(120, Console().width)).print(table)
    for item in status.lists:
        if item.failing:  # in full, below the table: this is what the volunteer has to act on
            click.echo(_("{name}: FAILING since {since} ({attempts} attempts): {error}").format(
                name=item.name, since=_short(str(item.failing.get("since"))), attempts=item.failing.get("failures"),
                error=item.failing.get("error")))


def _run_status(last: dict[str, Any], failing: dict[str, Any] | None) -> str:
    if not failing:
        return str(last.get("status") or "-")  # finished, interrupted, failed: the store's words, as stored
    retry = failing.get("retry_at")
    return (_("FAILING, retry {time}").format(time=_short(str(retry))) if retry
            else _("FAILING, next window tries again"))


def _short(iso: str) -> str:
    return iso[:19].replace("T", " ")


@click.group("config")
def config_group() -> None:
    """Check the configuration file.

    \b
    Example:
      probe config check
    """


@config_group.command("check")
@config_option
def config_check_command(config_path: Path | None) -> None:
    """Validate the configuration and print it in full (defaults included) with the next runs.

    A problem is one line naming the file and the key, and exit status 2.

    \b
    Example:
      probe config check
      probe config check --config /etc/probe/config.toml
    """
    from probe.config import default_config_path, load_config, render_config
    from probe.config.cron import zone
    from probe.evidence.keys import load_signer
    from probe.schedule.triggers import next_fire_times

    path = config_path or default_config_path()
    config = load_config(path)
    _check_fingerprints(config)  # what the daemon checks at start, so "valid" means it will start
    if config.key is not None:
        load_signer(config.key)  # a key file that is no key, or readable by others: one line now
    click.echo(_("# {path}: valid").format(path=path) + "\n")
    click.echo(render_config(config))
    tz = zone(config.daemon.timezone)
    now = datetime.now(tz)
    for entry in config.schedule:
        # An interval runs first at daemon start (or `every` after its last run); cron at its times.
        times = next_fire_times(entry, timezone=tz, now=now, count=3, start=now if entry.every else None)
        what = _("disabled") if not entry.enabled else _("next, if started now (before jitter): {times}").format(
            times=", ".join(t.isoformat(sep=" ", timespec="minutes") for t in times))
        click.echo(_("# schedule {name}: {what}").format(name=entry.key, what=what))


@click.command("prune")
@click.option("--older-than", "days", type=click.IntRange(min=1), required=True,
              help="Drop artifact bytes (bodies, certificates, DNS wire data) no measurement stored in the "
                   "last DAYS days.")
@store_option(help="The store (default: the configuration's store, else results/probe.sqlite).")
@config_option
def prune_command(days: int, store_path: Path, config_path: Path | None) -> None:
    """Prune old artifacts, keeping every measurement and hash (the chain still verifies).

    \b
    Example:
      probe prune --older-than 90
      probe prune --older-than 30 --store results/probe.sqlite
    """
    from probe.schedule.retention import prune_older_than
    from probe.store import Store

    path = store_path
    with Store.open(path, create=False) as store:
        pruned = prune_older_than(store, days=days)
    click.echo(_("pruned {count} artifact(s) no measurement stored in the last {days} days from {path}; "
                 "measurements and hashes are kept").format(count=pruned, days=days, path=path))
