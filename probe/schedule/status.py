"""What `probe status` reports: is the daemon running, when each list runs next, how its last run went.

Next runs come from the running daemon's state file when there is one (the scheduler's own times,
jitter included), else from the configuration's triggers (exact times, without jitter). Last runs come
from the store's runs table, so they are true even when the daemon is not running. Pure data: the CLI
prints it.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from probe.config.cron import zone
from probe.config.model import ProbeConfig, ScheduleEntry
from probe.errors import StoreError
from probe.schedule.plan import newest_daemon_runs, parse_time, run_summary
from probe.schedule.state import daemon_running, read_state
from probe.schedule.triggers import next_fire_times
from probe.store import Store
from probe.store.liveness import close_dead_runs
from probe.store.outbox import upload_status


@dataclass
class ListStatus:
    name: str
    target_list: str  # the list name or path it measures
    trigger: str  # "cron 0 */6 * * *" or "every 6h"
    enabled: bool
    next_runs: list[str] = field(default_factory=list)  # UTC ISO-8601
    running: bool = False
    last_run: dict[str, Any] | None = None  # run_id, started_at, finished_at, status, counts, total
    failing: dict[str, Any] | None = None  # since, error, failures, retry_at: the running daemon's retries


@dataclass
class Status:
    config: str
    store: str
    store_exists: bool
    store_size_bytes: int = 0
    measurements: int = 0
    daemon_running: bool = False
    daemon_pid: int | None = None
    daemon_started_at: str | None = None
    network: str = "unknown"
    network_since: str | None = None
    lists: list[ListStatus] = field(default_factory=list)
    uploads: list[dict[str, Any]] = field(default_factory=list)  # one per hub joined (probe.store.outbox)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect_status(config: ProbeConfig, *, config_path: Path, now: datetime | None = None) -> Status:
    now = now or datetime.now(UTC)
    assert config.store is not None  # the loader always fills it in
    status = Status(config=str(config_path), store=str(config.store), store_exists=_exists(config.store))
    state = read_state(config.store) if status.store_exists else None
    status.daemon_running = status.store_exists and daemon_running(config.store)
    if status.daemon_running and state:
        status.daemon_pid = state.get("pid")
        status.daemon_started_at = state.get("started_at")
        status.network = str(state.get("network") or "unknown")
        status.network_since = state.get("network_since")
    runs: dict[str, dict[str, Any]] = {}
    if status.store_exists:
        with Store.open(config.store) as store:
            with contextlib.suppress(StoreError):  # a read-only or busy store: report what it says
                close_dead_runs(store)
            status.store_size_bytes = store.size_bytes()
            status.measurements = store.count()
            runs = newest_daemon_runs(store)
            status.uploads = upload_status(store)
    live = state if status.daemon_running and state else {}
    for entry in config.schedule:
        status.lists.append(_list_status(entry, config, runs.get(entry.key), live, now=now))
    return status


def _exists(store: Path) -> bool:
    try:
        return store.exists()
    except PermissionError as exc:
        raise StoreError(f"no permission to read the store {store}",
                         hint="run it as the probe's user, e.g. sudo -u probe probe status") from exc


def _list_status(entry: ScheduleEntry, config: ProbeConfig, run: dict[str, Any] | None, live: dict[str, Any], *,
                 now: datetime) -> ListStatus:
    trigger = f"cron {entry.cron}" if entry.cron else f"every {_duration(entry.every)}"
    item = ListStatus(name=entry.key, target_list=entry.list, trigger=trigger, enabled=entry.enabled)
    item.running = entry.key in (live.get("running") or {})
    failing = (live.get("failing") or {}).get(entry.key)
    item.failing = dict(failing) if isinstance(failing, dict) else None
    if run is not None:
        counts = run_summary(run)
        status = str(run.get("status"))
        if status == "running" and not item.running:
            status = "unfinished"  # killed elsewhere (a copied store): the daemon continues it in its window
        item.last_run = {"run_id": run.get("run_id"), "started_at": run.get("started_at"),
                         "finished_at": run.get("finished_at"), "status": status, "counts": counts,
                         "total": sum(counts.values())}
    if not entry.enabled:
        return item
    scheduled = (live.get("next_runs") or {}).get(entry.key)
    if scheduled:
        item.next_runs = [scheduled]
    else:
        item.next_runs = [_iso(t) for t in _predicted(entry, config, run, now=now)]
    return item


def _predicted(entry: ScheduleEntry, config: ProbeConfig, run: dict[str, Any] | None, *,
               now: datetime) -> list[datetime]:
    tz = zone(config.daemon.timezone)
    if entry.every is not None:
        last = parse_time(run.get("started_at")) if run else None
        first = max(last + timedelta(seconds=entry.every), now) if last else now
        return next_fire_times(entry, timezone=tz, now=now, count=3, start=first)
    return next_fire_times(entry, timezone=tz, now=now, count=3)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(seconds: float | None) -> str:
    from probe.config.durations import format_duration

    return format_duration(seconds or 0)
