"""What the daemon does at start: continue killed runs in their window, catch up missed ones, leave others."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from probe.config import ProbeConfig, ScheduleEntry
from probe.schedule.plan import RUN_ID_PREFIX, new_run_id, plan_start, previous_fire_time
from probe.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "probe.sqlite") as s:
        yield s


def _config(*entries: ScheduleEntry) -> ProbeConfig:
    return ProbeConfig(store=Path("/x/probe.sqlite"), schedule=list(entries))


HOURLY = ScheduleEntry(list="kz", every="1h")
SIX_HOURLY_CRON = ScheduleEntry(list="article15", cron="0 */6 * * *")


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_killed_run_in_its_window_is_continued(store: Store) -> None:
    run_id = new_run_id()
    assert run_id.startswith(RUN_ID_PREFIX)
    store.start_run(run_id, "kz")  # never finished: the process was killed
    plan = plan_start(_config(HOURLY), store, now=_now(), timezone=UTC)
    assert plan.resume == {"kz": run_id} and not plan.closed and not plan.catch_up


def test_a_run_stopped_by_sigterm_in_its_window_is_continued(store: Store) -> None:
    run_id = new_run_id()
    store.start_run(run_id, "kz")
    store.finish_run(run_id, "interrupted", {})
    assert plan_start(_config(HOURLY), store, now=_now(), timezone=UTC).resume == {"kz": run_id}


def test_a_killed_run_whose_window_passed_is_closed_and_the_schedule_takes_over(store: Store) -> None:
    run_id = new_run_id()
    store.start_run(run_id, "kz")
    later = _now() + timedelta(hours=2)
    plan = plan_start(_config(HOURLY), store, now=later, timezone=UTC)
    assert plan.resume == {} and plan.closed == [run_id]
    assert store.runs()[0]["status"] == "interrupted" and store.unfinished_runs() == []
    assert plan.interval_start["kz"] <= later + timedelta(seconds=1)  # overdue: runs at once


def test_a_killed_run_of_a_removed_or_disabled_entry_is_closed(store: Store) -> None:
    run_id = new_run_id()
    store.start_run(run_id, "kz")
    disabled = HOURLY.model_copy(update={"enabled": False})
    assert plan_start(_config(disabled), store, now=_now(), timezone=UTC).closed == [run_id]


def test_runs_of_probe_run_are_never_touched(store: Store) -> None:
    store.start_run("7d1c6b7e-manual", "kz")  # `probe run --list kz`, maybe still going in a terminal
    plan = plan_start(_config(HOURLY), store, now=_now(), timezone=UTC)
    assert plan.resume == {} and plan.closed == []
    assert store.unfinished_runs() == [("7d1c6b7e-manual", "kz")]


def test_only_the_newest_unfinished_run_of_a_list_is_continued(store: Store) -> None:
    old, new = new_run_id(), new_run_id()
    store.start_run(old, "kz")
    store.start_run(new, "kz")
    plan = plan_start(_config(HOURLY), store, now=_now(), timezone=UTC)
    assert plan.resume == {"kz": new} and plan.closed == [old]


def test_an_interval_list_runs_every_period_after_its_last_run(store: Store) -> None:
    run_id = new_run_id()
    store.start_run(run_id, "kz")
    store.finish_run(run_id, "finished", {"ok": 3})
    now = _now()
    start = plan_start(_config(HOURLY), store, now=now, timezone=UTC).interval_start["kz"]
    assert now + timedelta(minutes=59) < start <= now + timedelta(hours=1)


def test_a_new_interval_list_runs_at_once(store: Store) -> None:
    now = _now()
    assert plan_start(_config(HOURLY), store, now=now, timezone=UTC).interval_start["kz"] == now + timedelta(seconds=1)


def test_a_cron_window_missed_while_the_daemon_was_down_runs_once(store: Store) -> None:
    run_id = new_run_id()
    store.start_run(run_id, "article15")
    store.finish_run(run_id, "finished", {})
    after_two_windows = _now() + timedelta(hours=13)
    assert plan_start(_config(SIX_HOURLY_CRON), store, now=after_two_windows, timezone=UTC).catch_up == ["article15"]


def test_a_cron_list_that_never_ran_waits_for_its_time(store: Store) -> None:
    assert plan_start(_config(SIX_HOURLY_CRON), store, now=_now(), timezone=UTC).catch_up == []


def test_a_window_missed_longer_ago_than_the_grace_is_not_caught_up(store: Store) -> None:
    run_id = new_run_id()
    store.start_run(run_id, "article15")
    store.finish_run(run_id, "finished", {})
    daily = ScheduleEntry(list="article15", cron="0 3 1 1 *")  # once a year
    config = _config(daily).model_copy(update={"daemon": _config().daemon.model_copy(update={"misfire_grace": 3600})})
    # A fixed hour after the window, not "now + 400 days", which fell within the grace on 27 November.
    twelve_hours_after_the_window = datetime(_now().year + 2, 1, 1, 15, 0, tzinfo=UTC)
    assert plan_start(config, store, now=twelve_hours_after_the_window, timezone=UTC).catch_up == []


def test_the_previous_fire_time_is_found_within_the_grace() -> None:
    now = datetime(2026, 11, 2, 13, 5, tzinfo=UTC)
    every_minute = ScheduleEntry(list="kz", cron="* * * * *")
    assert previous_fire_time(every_minute, now=now, timezone=UTC, within_s=86400) == now
    assert previous_fire_time(SIX_HOURLY_CRON, now=now, timezone=UTC, within_s=86400) == now.replace(hour=12, minute=0)
    assert previous_fire_time(SIX_HOURLY_CRON, now=now, timezone=UTC, within_s=600) is None
