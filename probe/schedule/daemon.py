"""The scheduled probe: an APScheduler 3.x AsyncIOScheduler with one job per schedule entry.

Job policy (why each setting):
- `max_instances=1`: never two runs of one list at once (they would race for the same sites).
- `coalesce=True` + `misfire_grace_time`: after a missed window (laptop asleep, daemon busy) the list
  runs once, not once per missed window.
- random jitter (see `probe.schedule.triggers`): probes on one network do not fire in the same second.
- a 30-second tick calls `scheduler.wakeup()`: asyncio timers use the monotonic clock, which stops
  while a laptop sleeps, so without the tick a job due during sleep would wait that much longer.

Lifecycle: `serve()` takes the store's daemon lock, continues or catches up runs (`probe.schedule.plan`),
starts the jobs and waits. `request_stop()` (SIGTERM/SIGINT) stops taking new targets, gives in-flight
measurements `stop_grace` to finish, then abandons them; a second request abandons at once. Finished
measurements are always kept (each is committed when it completes). `reload()` (SIGHUP) swaps the jobs
for a new configuration, or keeps the old one and logs why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from probe.config.cron import zone
from probe.config.model import ProbeConfig
from probe.errors import ProbeError
from probe.schedule.jobs import EntryRunner, Log, RunList, utc_now
from probe.schedule.network import NetworkCheck, controls_reachable
from probe.schedule.notify import Notifier
from probe.schedule.plan import interval_starts, plan_start
from probe.schedule.retention import prune_older_than
from probe.schedule.state import DaemonLock, write_state
from probe.schedule.triggers import make_trigger
from probe.store import Store

TICK_S = 30.0
RETENTION_EVERY_S = 86400.0


class Daemon:
    def __init__(self, *, config: ProbeConfig, store: Store, run_list: RunList, log: Log,
                 reload_config: Callable[[], ProbeConfig], config_path: Path | None = None,
                 check_network: NetworkCheck = controls_reachable, tick_s: float = TICK_S,
                 notifier: Notifier | None = None) -> None:
        self.config = config
        self.store = store
        self._log = log
        self._reload_config = reload_config
        self._config_path = config_path
        self._tick_s = tick_s
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._abandon = asyncio.Event()
        self._started_at = utc_now()
        self.runner = EntryRunner(config=config, run_list=run_list, log=log, check_network=check_network,
                                  stop=self._stop, on_change=self.write_state)
        self._scheduler: AsyncIOScheduler | None = None
        self._notifier = notifier or Notifier()

    @property
    def scheduler(self) -> AsyncIOScheduler | None:
        return self._scheduler

    async def serve(self) -> None:
        """Run until stopped; raises ProbeError (one line) when the store is already in use."""
        lock = DaemonLock(self.store.path)
        lock.acquire()
        handler = _SchedulerLogHandler(self._log)
        logging.getLogger("apscheduler").addHandler(handler)
        logging.getLogger("apscheduler").propagate = False
        try:
            self._scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(),
                                               timezone=zone(self.config.daemon.timezone))
            self._start_jobs(first=True)
            self._scheduler.start()
            self._log("daemon_started", lists=[e.key for e in self.config.schedule if e.enabled],
                      store=str(self.store.path), config=str(self._config_path or ""))
            self.write_state()
            self._notifier.ready(self.summary_line())
            ticker = asyncio.create_task(self._tick())
            await self._stopped.wait()
            ticker.cancel()
            await self._shutdown()
        finally:
            logging.getLogger("apscheduler").removeHandler(handler)
            lock.release()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.reload)

    def request_stop(self) -> None:
        if self._stopped.is_set():
            self._abandon.set()  # second request: do not wait for in-flight measurements
            self._log("stop_now", in_flight=len(self.runner.tasks))
            return
        self._stop.set()
        self._stopped.set()

    def reload(self) -> None:
        """SIGHUP: read the configuration again; a bad new one keeps the old one running."""
        if self._scheduler is None or self._stopped.is_set():
            self._log("config_reload_failed", error="the daemon is starting or stopping", kept="as it is")
            return
        try:
            new = self._reload_config()
            if new.store != self.config.store:
                raise ProbeError("the store path cannot change while the daemon runs; restart it instead")
        except ProbeError as exc:
            self._log("config_reload_failed", error=str(exc), kept="the previous configuration")
            return
        self.config = new
        self.runner.config = new
        self._start_jobs(first=False)
        self._log("config_reloaded", lists=[e.key for e in new.schedule if e.enabled])
        self.write_state()

    def _start_jobs(self, *, first: bool) -> None:
        """(Re)create one job per enabled entry; at first start, also continue and catch up runs."""
        scheduler = self._scheduler
        assert scheduler is not None
        config = self.config
        tz = zone(config.daemon.timezone)
        now = datetime.now(UTC)
        # Only at start: on reload, "unfinished" runs are the ones in progress right now.
        plan = plan_start(config, self.store, now=now, timezone=tz) if first else None
        starts = plan.interval_start if plan else interval_starts(config, self.store, now=now)
        for job in scheduler.get_jobs():
            if job.id.startswith("list:"):
                job.remove()
        defaults: dict[str, Any] = {"max_instances": 1, "coalesce": True,
                                    "misfire_grace_time": max(1, int(config.daemon.misfire_grace))}
        for entry in config.schedule:
            if not entry.enabled:
                continue
            trigger = make_trigger(entry, timezone=tz, now=starts.get(entry.key))
            scheduler.add_job(self.runner.run, trigger, args=[entry.key], id=f"list:{entry.key}",
                              name=entry.key, replace_existing=True, **defaults)
        if plan is not None:
            self._start_once(plan.resume, plan.catch_up, plan.closed)
            scheduler.add_job(self._retention, "interval", seconds=RETENTION_EVERY_S, id="retention",
                              next_run_time=now + timedelta(seconds=60), **defaults)

    def _start_once(self, resume: dict[str, str], catch_up: list[str], closed: list[str]) -> None:
        assert self._scheduler is not None
        for run_id in closed:
            self._log("run_closed", run_id=run_id, reason="killed outside its window; the schedule takes over")
        now = datetime.now(UTC)
        for key, run_id in resume.items():
            self._scheduler.add_job(self.runner.run, "date", run_date=now, args=[key, run_id, "continued"],
                                    id=f"once:{key}", misfire_grace_time=None)
        for key in catch_up:
            self._scheduler.add_job(self.runner.run, "date", run_date=now, args=[key, None, "missed window"],
                                    id=f"once:{key}", misfire_grace_time=None)

    async def _retention(self) -> None:
        days = self.config.retention.artifacts_days
        if days is None:
            return
        pruned = prune_older_than(self.store, days=days)
        self._log("retention", artifacts_days=days, pruned=pruned)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            if self._scheduler is not None and self._scheduler.running:
                self._scheduler.wakeup()  # catch up after the machine slept (monotonic time stood still)
            self.write_state()

    async def _shutdown(self) -> None:
        assert self._scheduler is not None
        self._scheduler.pause()
        self._notifier.stopping()
        tasks = set(self.runner.tasks)
        grace = self.config.daemon.stop_grace
        self._log("stopping", in_flight=len(tasks), grace_s=grace)
        if tasks:
            abandon = asyncio.create_task(self._abandon.wait())
            await _wait_all_or(tasks, abandon, grace)
            abandon.cancel()
        for task in tasks:
            task.cancel()  # the runner records the run as interrupted; finished measurements stay
        await asyncio.gather(*tasks, return_exceptions=True)
        self._scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler.shutdown runs on the loop's next turn
        self.write_state(stopped=True)
        self._log("daemon_stopped")

    def write_state(self, *, stopped: bool = False) -> None:
        """The state file `probe status` reads (next runs are the scheduler's own, jitter included)."""
        jobs = {}
        if self._scheduler is not None and not stopped:
            for job in self._scheduler.get_jobs():
                if job.id.startswith("list:"):
                    when = getattr(job, "next_run_time", None)
                    jobs[job.name] = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None
        state = {"pid": os.getpid(), "started_at": self._started_at, "updated_at": utc_now(),
                 "stopped": stopped, "config": str(self._config_path or ""), "next_runs": jobs,
                 "running": dict(self.runner.running), "network": self.runner.network,
                 "network_since": self.runner.network_since, "failing": dict(self.runner.failing)}
        with contextlib.suppress(OSError):  # status is a convenience; measuring must go on without it
            write_state(self.store.path, state)
        if not stopped:
            self._notifier.status(self.summary_line())

    def summary_line(self) -> str:
        """One line for systemd's status: failures first (they need a person), then what runs."""
        if self.runner.failing:
            key, failure = sorted(self.runner.failing.items())[0]
            retry = failure.get("retry_at")
            more = f" (and {len(self.runner.failing) - 1} more lists)" if len(self.runner.failing) > 1 else ""
            return (f"{key}: failing since {failure['since']} ({failure['failures']}x): {failure['error']}; "
                    + (f"retry at {retry}" if retry else "next window tries again") + more)
        if self.runner.running:
            return "measuring " + ", ".join(sorted(self.runner.running))
        if self.runner.network == "down":
            return f"network down since {self.runner.network_since}: no control answers"
        return "waiting for the next run"


async def _wait_all_or(tasks: set[asyncio.Task[Any]], abandon: asyncio.Task[Any], grace: float) -> None:
    """Wait until every task is done, the grace period is over, or an abandon request comes."""
    everything = asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.wait({everything, abandon}, timeout=grace, return_when=asyncio.FIRST_COMPLETED)


class _SchedulerLogHandler(logging.Handler):
    """APScheduler's warnings (missed runs, skipped instances) as our structured lines."""

    def __init__(self, log: Log) -> None:
        super().__init__(level=logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        self._log("scheduler", level=record.levelname.lower(), message=record.getMessage())
