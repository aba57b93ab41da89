"""APScheduler triggers for schedule entries, their period, and the next fire times `probe status` shows.

Jitter spreads probes on one network apart (dozens of volunteers with "0 */6 * * *" would otherwise
all hit the same sites and controls in the same second). Unless an entry sets it, jitter is a tenth of
the entry's period, at most five minutes, so a 10-second lab schedule still fires on time.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from probe.config.cron import cron_trigger
from probe.config.model import ScheduleEntry

MAX_DEFAULT_JITTER_S = 300.0


def make_trigger(entry: ScheduleEntry, *, timezone: tzinfo, now: datetime | None = None,
                 jittered: bool = True) -> BaseTrigger:
    """The trigger for one entry; `jittered=False` gives the exact times (for status and config check)."""
    jitter = jitter_s(entry, timezone=timezone, now=now) if jittered else None
    if entry.cron is not None:
        return cron_trigger(entry.cron, timezone=timezone, jitter_s=jitter)
    assert entry.every is not None  # the model guarantees one of the two
    return IntervalTrigger(seconds=entry.every, timezone=timezone, jitter=int(jitter) if jitter else None,
                           start_date=now)


def jitter_s(entry: ScheduleEntry, *, timezone: tzinfo, now: datetime | None = None) -> float:
    if entry.jitter is not None:
        return entry.jitter
    return min(MAX_DEFAULT_JITTER_S, period_s(entry, timezone=timezone, now=now) / 10)


def period_s(entry: ScheduleEntry, *, timezone: tzinfo, now: datetime | None = None) -> float:
    """Seconds between two runs: the interval, or (for cron) the gap between the next two fire times."""
    if entry.every is not None:
        return entry.every
    times = next_fire_times(entry, timezone=timezone, now=now, count=2)
    return (times[1] - times[0]).total_seconds() if len(times) == 2 else 86400.0


def next_fire_times(entry: ScheduleEntry, *, timezone: tzinfo, now: datetime | None = None,
                    count: int = 3, start: datetime | None = None) -> list[datetime]:
    """The next `count` times the entry fires from `now` on (no jitter); `start` is an interval's first fire."""
    now = now or datetime.now(timezone)
    if entry.every is not None:
        # An interval fires first at `start` (the daemon derives it from the last run), else one step on.
        step = timedelta(seconds=entry.every)
        anchor = start or now + step
        first = anchor if anchor >= now else anchor + step * math.ceil((now - anchor) / step)
        return [first + step * i for i in range(count)]
    trigger = make_trigger(entry, timezone=timezone, jittered=False)
    times: list[datetime] = []
    previous: datetime | None = None
    current = now
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, current)
        if fire is None:
            break
        if fire > now:
            times.append(fire)
        previous, current = fire, fire + timedelta(microseconds=1)
    return times
