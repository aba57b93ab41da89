"""The body of a scheduled job: one run of one list, guarded, logged, and held back while offline.

Guards, in order: a list already running is not started again (a per-list lock, on top of
APScheduler's max_instances=1, because continued runs and catch-ups are separate jobs); the network
must be up (see `probe.schedule.network`), else the job waits with exponential backoff until the
next window would open and then gives up that window with one `run_skipped` line. A run that fails
(the store is locked or the disk full, a bug) is logged, kept in `failing` for `probe status`, and
tried again under the same run id with the same backoff until it succeeds or the next window would
open; the next window runs as usual either way, so one bad hour never stops the daemon. When nothing
answers at all (no helper, no well-known address: an internet shutdown, `probe.measure.netcheck`),
the list is measured on schedule anyway, and the run records the outage as evidence of when it held. Measuring
itself is injected (`RunList`): this module never measures, it decides when and logs what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from probe import addresses
from probe.config.cron import zone
from probe.config.model import ProbeConfig, ScheduleEntry
from probe.measure.netcheck import check_network, well_known_set
from probe.measure.runner import RunSummary
from probe.net.dns import system_nameserver
from probe.schedule.network import Backoff, NetworkCheck
from probe.schedule.plan import new_run_id
from probe.schedule.triggers import period_s

Log = Callable[..., None]  # log(event, **fields): one structured line


# Runs one list to the end (or until `stop` is set); must honour `run_id` to continue a run.
RunList = Callable[[ProbeConfig, ScheduleEntry, str, asyncio.Event], Awaitable[RunSummary]]
# True when the whole network is silent, not only the helpers (an internet shutdown).
ShutdownCheck = Callable[[ProbeConfig], Awaitable[bool]]


async def internet_down(config: ProbeConfig) -> bool:
    m = config.measure
    down = await check_network(control_urls=m.control_urls, resolver=m.resolver or system_nameserver(),
                               name=m.decoy_sni, well_known=well_known_set(m.well_known, m.control_urls))
    return down is not None


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scrub(text: str) -> str:
    """Error text without IP addresses, in any spelling: logs end up in journals and bug reports."""
    return addresses.replace(text, "[addr]")


class EntryRunner:
    """Runs entries for the daemon; knows which are running (for status and for a clean stop)."""

    def __init__(self, *, config: ProbeConfig, run_list: RunList, log: Log, check_network: NetworkCheck,
                 stop: asyncio.Event, on_change: Callable[[], None] = lambda: None,
                 check_shutdown: ShutdownCheck = internet_down) -> None:
        self.config = config
        self._check_shutdown = check_shutdown
        self._run_list = run_list
        self._log = log
        self._check_network = check_network
        self._stop = stop
        self._on_change = on_change
        self._locks: dict[str, asyncio.Lock] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.running: dict[str, str] = {}  # entry name → run id
        self.network: str = "unknown"  # "up", "down" or "unknown" (no control to check)
        self.network_since: str | None = None
        # entry name → since, error, failures, retry_at (None: given up until the next window)
        self.failing: dict[str, dict[str, Any]] = {}

    async def run(self, key: str, run_id: str | None = None, reason: str = "scheduled") -> None:
        entry = self.config.entry(key)
        if entry is None or self._stop.is_set():
            return  # removed by a reload, or the daemon is stopping
        lock = self._locks.setdefault(key, asyncio.Lock())
        if lock.locked():
            self._log("run_skipped", list=key, reason="the previous run of this list is still going")
            return
        async with lock:
            task = asyncio.current_task()
            assert task is not None
            self.tasks.add(task)
            try:
                if await self._network_up(entry):
                    await self._measure_until_done(entry, run_id or new_run_id(), reason)
            finally:
                self.tasks.discard(task)

    async def _measure_until_done(self, entry: ScheduleEntry, run_id: str, reason: str) -> None:
        """Measure; after a failure, back off and continue the same run until it works or the window ends."""
        daemon = self.config.daemon
        backoff = Backoff(initial_s=daemon.backoff_initial, maximum_s=daemon.backoff_max)
        deadline = time.monotonic() + 0.9 * period_s(entry, timezone=zone(daemon.timezone))
        while True:
            error = await self._measure(entry, run_id, reason)
            if error is None:
                if self.failing.pop(entry.key, None) is not None:
                    self._on_change()
                return
            if self._stop.is_set():
                return
            delay = backoff.next_delay()
            failure = self.failing.setdefault(entry.key, {"since": utc_now(), "failures": 0})
            failure.update(error=error, failures=failure["failures"] + 1, run_id=run_id)
            if time.monotonic() + delay > deadline:
                failure["retry_at"] = None
                self._on_change()
                self._log("run_given_up", list=entry.key, run_id=run_id, failures=failure["failures"],
                          reason="still failing when the next window opens; that window tries again")
                return
            failure["retry_at"] = datetime.fromtimestamp(time.time() + delay, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._on_change()
            self._log("run_retry", list=entry.key, run_id=run_id, retry_in_s=delay, failures=failure["failures"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            if self._stop.is_set():
                return
            reason = "retry after a failure"

    async def _measure(self, entry: ScheduleEntry, run_id: str, reason: str) -> str | None:
        """One attempt; returns the error (scrubbed, one line) when it failed."""
        started = time.monotonic()
        self.running[entry.key] = run_id
        self._on_change()
        status = "failed"
        fields: dict[str, Any] = {"error": "unknown"}
        try:
            summary = await self._run_list(self.config, entry, run_id, self._stop)
            status = "interrupted" if summary.interrupted else "finished"
            fields = {"total": summary.total, "counts": dict(summary.counts)}
        except asyncio.CancelledError:
            status = "abandoned"  # stop grace over: finished measurements are stored, in-flight ones dropped
        except Exception as exc:  # noqa: BLE001 - one bad run must not take the daemon down
            fields = {"error": scrub(f"{type(exc).__name__}: {exc}")}
        finally:
            self.running.pop(entry.key, None)
            self._on_change()
        self._log("run", list=entry.key, run_id=run_id, status=status, reason=reason,
                  duration_s=round(time.monotonic() - started, 3), **fields)
        return str(fields["error"]) if status == "failed" else None

    async def _network_up(self, entry: ScheduleEntry) -> bool:
        """True when a control answers (or there is none to ask); backs off while none does."""
        daemon = self.config.daemon
        measure = self.config.measure
        urls = [*measure.control_urls, *([measure.doh_url] if measure.doh_url else [])]
        backoff = Backoff(initial_s=daemon.backoff_initial, maximum_s=daemon.backoff_max)
        # Give up before the next window opens, so it is that window's run that tries again.
        deadline = time.monotonic() + 0.9 * period_s(entry, timezone=zone(daemon.timezone))
        while not self._stop.is_set():
            up = await self._check_network(urls, daemon.preflight_timeout)
            self._set_network("unknown" if up is None else "up" if up else "down")
            if up is not False:
                return True
            if await self._check_shutdown(self.config):
                self._log("network_down", list=entry.key, shutdown=True,
                          reason="nothing answers: measuring on schedule, the run records the outage")
                return True
            delay = backoff.next_delay()
            if time.monotonic() + delay > deadline:
                self._log("run_skipped", list=entry.key, reason="network down: no control answers")
                return False
            self._log("network_down", list=entry.key, retry_in_s=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
        return False

    def _set_network(self, state: str) -> None:
        if state != self.network:
            self.network = state
            self.network_since = utc_now()
            if state == "up":
                self._log("network_up")
            self._on_change()
