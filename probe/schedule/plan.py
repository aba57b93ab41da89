"""What the daemon does at start, decided from the store's runs table: continue, catch up, or wait.

- A run the daemon started and never finished (killed, or stopped by SIGTERM) is **continued** with
  its run id, so the inputs it already stored are skipped: nothing finished is lost or measured twice.
  Only the newest run of an entry is continued, and only while its window is open (less than one
  period old); an older one is closed as `interrupted` and the schedule takes over.
- An interval entry runs `every` after its last run started (at once if that is past), so a probe
  that restarts more often than its interval still measures.
- A cron entry whose last fire time passed while the daemon was down (within `misfire_grace`) runs
  once now: the same "one run, not a burst" rule APScheduler applies to a sleeping laptop.

Runs started by the daemon have ids that begin with `daemon-`; runs of `probe run` are never touched.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from probe.config.model import ProbeConfig, ScheduleEntry
from probe.schedule.triggers import next_fire_times, period_s
from probe.store import EntryFilter, Store

RUN_ID_PREFIX = "daemon-"
RECENT_RUNS = 2000  # enough rows of the runs table to find every list's last run


def new_run_id() -> str:
    return f"{RUN_ID_PREFIX}{uuid.uuid4()}"


def parse_time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def last_runs(store: Store) -> dict[str, dict[str, object]]:
    """The newest run per list name (any run, the daemon's or `probe run`'s)."""
    newest: dict[str, dict[str, object]] = {}
    for run in store.runs(limit=RECENT_RUNS):
        name = run.get("list_name")
        if isinstance(name, str) and name not in newest:
            newest[name] = run
    return newest


@dataclass(frozen=True)
class StartPlan:
    resume: dict[str, str]  # entry name → run id to continue now
    catch_up: list[str]  # entry names to run once now
    interval_start: dict[str, datetime]  # entry name → first fire time of its interval trigger
    closed: list[str]  # run ids closed as interrupted (too old, or no enabled entry any more)


def plan_start(config: ProbeConfig, store: Store, *, now: datetime, timezone: tzinfo) -> StartPlan:
    newest = newest_daemon_runs(store)
    resume: dict[str, str] = {}
    closed: list[str] = []
    for run_id, list_name in store.unfinished_runs():
        if not run_id.startswith(RUN_ID_PREFIX):
            continue
        entry = config.entry(list_name or "")
        if entry is not None and entry.enabled and newest.get(entry.key, {}).get("run_id") == run_id and \
                _window_open(entry, newest[entry.key], now=now, timezone=timezone):
            resume[entry.key] = run_id
        else:
            close_run(store, run_id)
            closed.append(run_id)
    for key, run in newest.items():  # stopped cleanly (SIGTERM) inside its window: continue it too
        entry = config.entry(key)
        if key not in resume and run.get("status") == "interrupted" and entry is not None and entry.enabled \
                and _window_open(entry, run, now=now, timezone=timezone):
            resume[key] = str(run["run_id"])
    return StartPlan(resume=resume, closed=closed,
                     catch_up=_catch_up(config, newest, resume, now=now, timezone=timezone),
                     interval_start=_interval_starts(config, newest, now=now))


def interval_starts(config: ProbeConfig, store: Store, *, now: datetime) -> dict[str, datetime]:
    """Entry name → first fire time of its interval trigger: `every` after its last run started."""
    return _interval_starts(config, newest_daemon_runs(store), now=now)


def close_run(store: Store, run_id: str) -> None:
    """Mark a dead run interrupted, with the counts of what it did store."""
    store.finish_run(run_id, "interrupted", dict(run_counts(store, run_id)))


def run_counts(store: Store, run_id: str) -> Counter[str]:
    """Verdict counts of everything a run stored, across all the processes that worked on it."""
    counts: Counter[str] = Counter()
    for entry in store.entries(EntryFilter(run_id=run_id)):
        counts[entry.verdict.label if entry.verdict else "unclassified"] += 1
    return counts


def newest_daemon_runs(store: Store) -> dict[str, dict[str, object]]:
    return {k: v for k, v in last_runs(store).items() if str(v.get("run_id", "")).startswith(RUN_ID_PREFIX)}


def _window_open(entry: ScheduleEntry, run: dict[str, object], *, now: datetime, timezone: tzinfo) -> bool:
    started = parse_time(run.get("started_at"))
    return started is not None and (now - started).total_seconds() < period_s(entry, timezone=timezone, now=now)


def _catch_up(config: ProbeConfig, newest: dict[str, dict[str, object]], resume: dict[str, str], *,
              now: datetime, timezone: tzinfo) -> list[str]:
    due = []
    for entry in config.schedule:
        if not entry.enabled or entry.cron is None or entry.key in resume or entry.key not in newest:
            continue
        last = parse_time(newest[entry.key].get("started_at"))
        missed = previous_fire_time(entry, now=now, timezone=timezone, within_s=config.daemon.misfire_grace)
        if last is not None and missed is not None and missed > last:
            due.append(entry.key)
    return due


def previous_fire_time(entry: ScheduleEntry, *, now: datetime, timezone: tzinfo, within_s: float) -> datetime | None:
    """The latest (unjittered) fire time in (now - within_s, now], if any."""
    start = now - timedelta(seconds=within_s)
    latest = None
    while True:
        times = next_fire_times(entry, timezone=timezone, now=start, count=64)
        past = [t for t in times if t <= now]
        if past:
            latest = past[-1]
        if len(past) < len(times) or not times:
            return latest
        start = times[-1]


def _interval_starts(config: ProbeConfig, newest: dict[str, dict[str, object]], *,
                     now: datetime) -> dict[str, datetime]:
    starts = {}
    for entry in config.schedule:
        if entry.every is None:
            continue
        last = parse_time(newest.get(entry.key, {}).get("started_at"))
        due = last + timedelta(seconds=entry.every) if last else now
        starts[entry.key] = max(due, now + timedelta(seconds=1))  # in the past: fire now, not "now + every"
    return starts


def run_summary(run: dict[str, object]) -> dict[str, int]:
    """The counts column of a runs row as a dict."""
    try:
        counts = json.loads(str(run.get("counts") or "{}"))
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else {}
