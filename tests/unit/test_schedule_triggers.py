"""Triggers: crontab weekday numbering, jitter defaults, next fire times, interval anchoring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from probe.config import ScheduleEntry
from probe.config.cron import CronSyntaxError, cron_trigger
from probe.schedule.triggers import jitter_s, make_trigger, next_fire_times, period_s

# 2026-11-02 is a Monday.
MONDAY = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)


def _fires(expression: str, count: int = 7) -> list[datetime]:
    trigger = cron_trigger(expression, timezone=UTC)
    times: list[datetime] = []
    previous, now = None, MONDAY - timedelta(seconds=1)
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        times.append(fire)
        previous, now = fire, fire + timedelta(seconds=1)
    return times


@pytest.mark.parametrize(("expression", "weekdays"), [
    ("0 9 * * 1", {"Mon"}),  # crontab: 1 is Monday (APScheduler 3 alone would read Tuesday)
    ("0 9 * * 0", {"Sun"}),
    ("0 9 * * 7", {"Sun"}),
    ("0 9 * * 1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
    ("0 9 * * 5-7", {"Fri", "Sat", "Sun"}),
    ("0 9 * * sat,sun", {"Sat", "Sun"}),
    ("0 9 * * mon-fri", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
    ("0 9 * * */2", {"Sun", "Tue", "Thu", "Sat"}),
    ("0 9 * * *", {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}),
])
def test_weekdays_mean_what_crontab_means(expression: str, weekdays: set[str]) -> None:
    assert {t.strftime("%a") for t in _fires(expression, 14)} == weekdays


def test_a_cron_expression_fires_at_its_times() -> None:
    assert [t.hour for t in _fires("0 */6 * * *", 4)] == [0, 6, 12, 18]
    assert all(t.minute == 0 for t in _fires("0 */6 * * *", 4))


@pytest.mark.parametrize("expression", ["0 9 * *", "0 9 * * 8", "0 25 * * *", "0 9 * * fri-mon", "x 9 * * *"])
def test_bad_expressions_raise_a_syntax_error(expression: str) -> None:
    with pytest.raises(CronSyntaxError):
        cron_trigger(expression, timezone=UTC)


def test_cron_is_read_in_the_configured_time_zone() -> None:
    almaty = ZoneInfo("Asia/Almaty")
    entry = ScheduleEntry(list="kz", cron="0 9 * * *")
    first = next_fire_times(entry, timezone=almaty, now=MONDAY, count=1)[0]
    assert first.astimezone(almaty).hour == 9 and first.astimezone(UTC).hour != 9


def test_default_jitter_is_a_tenth_of_the_period_at_most_five_minutes() -> None:
    assert jitter_s(ScheduleEntry(list="kz", every="10s"), timezone=UTC) == 1
    assert jitter_s(ScheduleEntry(list="kz", every="6h"), timezone=UTC) == 300
    assert jitter_s(ScheduleEntry(list="kz", cron="*/5 * * * *"), timezone=UTC, now=MONDAY) == 30
    assert jitter_s(ScheduleEntry(list="kz", every="6h", jitter="0s"), timezone=UTC) == 0


def test_the_period_of_a_cron_entry_is_the_gap_between_fires() -> None:
    assert period_s(ScheduleEntry(list="kz", cron="0 */6 * * *"), timezone=UTC, now=MONDAY) == 6 * 3600
    assert period_s(ScheduleEntry(list="kz", every="1h30m"), timezone=UTC) == 5400


def test_jittered_fire_times_stay_within_the_jitter() -> None:
    entry = ScheduleEntry(list="kz", cron="0 * * * *", jitter="2m")
    trigger = make_trigger(entry, timezone=UTC)
    for _ in range(50):
        fire = trigger.get_next_fire_time(None, MONDAY + timedelta(minutes=1))
        assert fire is not None
        assert MONDAY + timedelta(hours=1) <= fire <= MONDAY + timedelta(hours=1, minutes=2)


def test_an_interval_starts_where_the_daemon_says_and_steps_on() -> None:
    entry = ScheduleEntry(list="kz", every="10m")
    start = MONDAY + timedelta(minutes=3)
    assert next_fire_times(entry, timezone=UTC, now=MONDAY, count=2, start=start) == [
        start, start + timedelta(minutes=10)]
    # An anchor in the past: the next step after now, not a burst of missed ones.
    later = MONDAY + timedelta(minutes=25)
    assert next_fire_times(entry, timezone=UTC, now=later, count=1, start=MONDAY)[0] == MONDAY + timedelta(minutes=30)
    trigger = make_trigger(entry, timezone=UTC, now=start, jittered=False)
    assert trigger.get_next_fire_time(None, MONDAY) == start
