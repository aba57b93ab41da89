"""The daemon's scheduling policy with a stand-in for measuring: jobs, stop, reload, backoff, resume."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from probe.config import DaemonSettings, ProbeConfig, Retention, ScheduleEntry
from probe.errors import ConfigError, StoreError
from probe.measure.runner import RunSummary
from probe.schedule.daemon import Daemon
from probe.schedule.jobs import EntryRunner, scrub
from probe.schedule.plan import new_run_id
from probe.schedule.state import daemon_running, read_state
from probe.store import Store


class Recorder:
    """Log lines as (event, fields)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [f for e, f in self.lines if e == name]


class FakeLists:
    """Stands in for measuring a list: records calls; `hold` keeps a run going until told."""

    def __init__(self, *, honour_stop: bool = True, hold: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.honour_stop = honour_stop
        self.hold = hold

    async def __call__(self, config: ProbeConfig, entry: ScheduleEntry, run_id: str,
                       stop: asyncio.Event) -> RunSummary:
        self.calls.append((entry.key, run_id))
        if self.hold:
            if self.honour_stop:
                await stop.wait()
            else:
                await asyncio.sleep(3600)
            return RunSummary(run_id=run_id, total=2, counts=Counter({"ok": 2}), interrupted=True)
        return RunSummary(run_id=run_id, total=3, counts=Counter({"ok": 2, "dns.nxdomain": 1}))


def _up(result: bool | None) -> Callable[[Sequence[str], float], Awaitable[bool | None]]:
    async def check(urls: Sequence[str], timeout_s: float) -> bool | None:
        return result
    return check


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "probe.sqlite") as s:
        yield s


def _config(store: Store, *entries: ScheduleEntry, **daemon: Any) -> ProbeConfig:
    return ProbeConfig(store=store.path, schedule=list(entries),
                       daemon=DaemonSettings(**{"stop_grace": "1s", **daemon}))


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def _serve(daemon: Daemon, body: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        serving = asyncio.create_task(daemon.serve())
        try:
            await body()
        finally:
            daemon.request_stop()
            await asyncio.wait_for(serving, 10)
    asyncio.run(main())


def _daemon(store: Store, config: ProbeConfig, lists: FakeLists, log: Recorder, **kw: Any) -> Daemon:
    return Daemon(config=config, store=store, run_list=lists, log=log, reload_config=kw.pop("reload", lambda: config),
                  check_network=kw.pop("check", _up(None)), tick_s=kw.pop("tick_s", 0.2), **kw)


def test_jobs_run_one_at_a_time_coalesced_with_a_misfire_grace(store: Store) -> None:
    lists, log = FakeLists(), Recorder()
    config = _config(store, ScheduleEntry(list="kz", cron="0 */6 * * *"),
                     ScheduleEntry(list="article15", every="1h", jitter="0s"))
    daemon = _daemon(store, config, lists, log)

    async def body() -> None:
        await _until(lambda: daemon.scheduler is not None and daemon.scheduler.running)
        assert daemon.scheduler is not None
        for name in ("list:kz", "list:article15"):
            job = daemon.scheduler.get_job(name)
            assert job.max_instances == 1 and job.coalesce is True and job.misfire_grace_time == 86400
        await _until(lambda: len(lists.calls) == 1)  # a new interval list runs at once; cron waits
    _serve(daemon, body)
    assert lists.calls[0][0] == "article15"
    run = log.events("run")[0]
    assert run["status"] == "finished" and run["counts"] == {"ok": 2, "dns.nxdomain": 1} and run["total"] == 3
    assert run["run_id"].startswith("daemon-") and run["duration_s"] >= 0


def test_missed_windows_run_once_not_in_a_burst(store: Store) -> None:
    lists, log = FakeLists(), Recorder()
    daemon = _daemon(store, _config(store, ScheduleEntry(list="kz", cron="* * * * *", jitter="0s")), lists, log)

    async def body() -> None:
        await _until(lambda: daemon.scheduler is not None and daemon.scheduler.running)
        assert daemon.scheduler is not None
        # The machine slept through 30 minutely windows: the job is 30 minutes late.
        daemon.scheduler.get_job("list:kz").modify(next_run_time=datetime.now(UTC) - timedelta(minutes=30))
        daemon.scheduler.wakeup()
        await _until(lambda: len(lists.calls) >= 1)
        await asyncio.sleep(0.5)
    _serve(daemon, body)
    assert len(lists.calls) == 1


def test_sigterm_lets_the_run_finish_its_in_flight_work(store: Store) -> None:
    lists, log = FakeLists(hold=True), Recorder()
    daemon = _daemon(store, _config(store, ScheduleEntry(list="kz", every="1h", jitter="0s")), lists, log)

    async def body() -> None:
        await _until(lambda: len(lists.calls) == 1)
    started = time.monotonic()
    _serve(daemon, body)
    assert time.monotonic() - started < 3
    assert log.events("run")[0]["status"] == "interrupted"
    assert [e for e, _ in log.lines][-1] == "daemon_stopped"


def test_in_flight_work_is_abandoned_after_the_grace_period(store: Store) -> None:
    lists, log = FakeLists(hold=True, honour_stop=False), Recorder()
    config = _config(store, ScheduleEntry(list="kz", every="1h", jitter="0s"), stop_grace="0.3s")
    daemon = _daemon(store, config, lists, log)

    async def body() -> None:
        await _until(lambda: len(lists.calls) == 1)
    started = time.monotonic()
    _serve(daemon, body)
    assert 0.3 <= time.monotonic() - started < 3
    assert log.events("stopping")[0] == {"in_flight": 1, "grace_s": 0.3}
    assert log.events("run")[0]["status"] == "abandoned"


def test_reload_swaps_jobs_and_a_bad_file_keeps_the_old_ones(store: Store) -> None:
    lists, log = FakeLists(), Recorder()
    first = _config(store, ScheduleEntry(list="kz", cron="0 3 * * *"))
    second = _config(store, ScheduleEntry(list="kz", cron="0 4 * * *"),
                     ScheduleEntry(list="article15", cron="0 5 * * *"))
    answers: list[Any] = [ConfigError("config.toml: schedule[0].cron: bad cron expression"), second]

    def reload() -> ProbeConfig:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, ProbeConfig)
        return answer
    daemon = _daemon(store, first, lists, log, reload=reload)

    async def body() -> None:
        await _until(lambda: daemon.scheduler is not None and daemon.scheduler.running)
        assert daemon.scheduler is not None
        daemon.reload()
        assert log.events("config_reload_failed")[0]["error"].endswith("bad cron expression")
        assert {j.id for j in daemon.scheduler.get_jobs()} == {"list:kz", "retention"}
        daemon.reload()
        assert {j.id for j in daemon.scheduler.get_jobs()} == {"list:kz", "list:article15", "retention"}
        assert daemon.scheduler.get_job("list:kz").next_run_time.hour == 4
    _serve(daemon, body)
    assert log.events("config_reloaded")[0]["lists"] == ["kz", "article15"]


def test_one_daemon_per_store_and_status_can_tell(store: Store) -> None:
    lists, log = FakeLists(), Recorder()
    config = _config(store, ScheduleEntry(list="kz", cron="0 3 * * *"))
    daemon = _daemon(store, config, lists, log)

    async def body() -> None:
        await _until(lambda: daemon.scheduler is not None and daemon.scheduler.running)
        assert daemon_running(store.path)
        with pytest.raises(StoreError, match="another probe daemon is already running"):
            await _daemon(store, config, FakeLists(), Recorder()).serve()
        state = read_state(store.path)
        assert state is not None and "T03:0" in state["next_runs"]["kz"]  # jitter ≤ 5 minutes
    _serve(daemon, body)
    assert not daemon_running(store.path)
    state = read_state(store.path)
    assert state is not None and state["stopped"] is True


def test_a_killed_run_is_continued_under_its_run_id(store: Store) -> None:
    run_id = new_run_id()
    store.start_run(run_id, "kz")  # SIGKILL: never finished
    lists, log = FakeLists(), Recorder()
    daemon = _daemon(store, _config(store, ScheduleEntry(list="kz", cron="0 3 * * *")), lists, log)

    async def body() -> None:
        await _until(lambda: len(lists.calls) == 1)
    _serve(daemon, body)
    assert lists.calls == [("kz", run_id)]
    assert log.events("run")[0]["reason"] == "continued"


def _runner(store: Store, lists: FakeLists, log: Recorder, check: Any, *, stop: asyncio.Event | None = None,
            **daemon: Any) -> EntryRunner:
    config = _config(store, ScheduleEntry(list="kz", every="10s"), **daemon)
    config = config.model_copy(update={"measure": config.measure.model_copy(
        update={"control_urls": ["https://192.0.2.1/"]})})
    return EntryRunner(config=config, run_list=lists, log=log, check_network=check, stop=stop or asyncio.Event())


def test_no_run_while_the_network_is_down_and_the_window_is_given_up(store: Store) -> None:
    lists, log = FakeLists(), Recorder()
    runner = _runner(store, lists, log, _up(False), backoff_initial="10s", backoff_max="10s")
    asyncio.run(runner.run("kz"))
    assert lists.calls == [] and runner.network == "down"
    assert log.events("run_skipped")[0]["reason"].startswith("network down")


def test_backoff_waits_longer_each_time_then_runs_when_the_network_is_back(store: Store) -> None:
    answers = [False, False, False, True]
    seen: list[float] = []

    async def check(urls: Sequence[str], timeout_s: float) -> bool | None:
        seen.append(time.monotonic())
        assert urls == ["https://192.0.2.1/"]
        return answers.pop(0)
    lists, log = FakeLists(), Recorder()
    runner = _runner(store, lists, log, check, backoff_initial="0.1s", backoff_max="0.2s")
    asyncio.run(runner.run("kz"))
    assert [f["retry_in_s"] for f in log.events("network_down")] == [0.1, 0.2, 0.2]
    assert len(lists.calls) == 1 and runner.network == "up" and log.events("network_up")


def test_a_list_already_running_is_not_started_again(store: Store) -> None:
    lists, log, stop = FakeLists(hold=True), Recorder(), asyncio.Event()
    runner = _runner(store, lists, log, _up(None), stop=stop)

    async def main() -> None:
        first = asyncio.create_task(runner.run("kz"))
        await _until(lambda: len(lists.calls) == 1)
        await runner.run("kz")
        assert log.events("run_skipped")[0]["reason"] == "the previous run of this list is still going"
        stop.set()  # what the daemon does on SIGTERM
        await first
    asyncio.run(main())
    assert len(lists.calls) == 1


def test_a_failing_run_is_logged_without_addresses_retried_and_then_runs(store: Store) -> None:
    attempts: list[str] = []

    async def flaky(config: ProbeConfig, entry: ScheduleEntry, run_id: str, stop: asyncio.Event) -> RunSummary:
        attempts.append(run_id)
        if len(attempts) < 3:
            raise OSError("cannot reach 203.0.113.7:443 or [2001:db8::7]:443")
        return RunSummary(run_id=run_id, total=1, counts=Counter({"ok": 1}))
    log = Recorder()
    config = _config(store, ScheduleEntry(list="kz", every="1h"), backoff_initial="0.05s", backoff_max="0.1s")
    runner = EntryRunner(config=config, run_list=flaky, log=log, check_network=_up(None), stop=asyncio.Event())
    asyncio.run(runner.run("kz"))
    runs = log.events("run")
    assert [r["status"] for r in runs] == ["failed", "failed", "finished"]
    assert all("203.0.113.7" not in r["error"] and "2001:db8" not in r["error"] for r in runs[:2])
    assert [r["retry_in_s"] for r in log.events("run_retry")] == [0.05, 0.1]
    assert len(set(attempts)) == 1 and runner.failing == {}  # continued under its run id, and recovered


def test_a_run_failing_until_the_next_window_gives_that_window_up(store: Store) -> None:
    async def boom(config: ProbeConfig, entry: ScheduleEntry, run_id: str, stop: asyncio.Event) -> RunSummary:
        raise OSError("disk full")
    log = Recorder()
    config = _config(store, ScheduleEntry(list="kz", every="10s"), backoff_initial="4s", backoff_max="8s")
    runner = EntryRunner(config=config, run_list=boom, log=log, check_network=_up(None), stop=asyncio.Event())
    asyncio.run(runner.run("kz"))  # fails, waits 4 s, fails, and 8 s more would pass the next window (9 s)
    assert [r["status"] for r in log.events("run")] == ["failed", "failed"]
    assert log.events("run_given_up")[0]["failures"] == 2
    assert runner.failing["kz"]["retry_at"] is None and "disk full" in runner.failing["kz"]["error"]


def test_scrub_keeps_times_and_versions() -> None:
    assert scrub("at 12:30:45 with v3.11 from 10.1.2.3") == "at 12:30:45 with v3.11 from [addr]"


def test_retention_prunes_old_artifacts_daily_and_keeps_measurements(store: Store) -> None:
    lists, log = FakeLists(), Recorder()
    config = _config(store, ScheduleEntry(list="kz", cron="0 3 * * *")).model_copy(
        update={"retention": Retention(artifacts_days=30)})
    daemon = _daemon(store, config, lists, log)

    async def body() -> None:
        await _until(lambda: daemon.scheduler is not None and daemon.scheduler.running)
        assert daemon.scheduler is not None
        job = daemon.scheduler.get_job("retention")
        assert job.trigger.interval == timedelta(days=1)
        job.modify(next_run_time=datetime.now(UTC))
        daemon.scheduler.wakeup()
        await _until(lambda: bool(log.events("retention")))
    _serve(daemon, body)
    assert log.events("retention")[0] == {"artifacts_days": 30, "pruned": 0}


def test_failures_carry_a_journal_priority_only_when_stderr_is_the_journal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import sys

    from probe.cli.daemon import LineLog

    path = tmp_path / "journal"
    with path.open("w") as journal:
        monkeypatch.setattr(sys, "stderr", journal)
        info = os.fstat(journal.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
        log = LineLog(as_json=False)
        log("run", list="kz", status="failed", error="disk full")
        log("run_retry", list="kz", retry_in_s=60)
        log("run", list="kz", status="finished")
        monkeypatch.setenv("JOURNAL_STREAM", "1:2")  # stderr is somewhere else: a terminal, a file
        LineLog(as_json=False)("run", list="kz", status="failed", error="disk full")
    lines = path.read_text().splitlines()
    assert [line[:3] if line.startswith("<") else "" for line in lines] == ["<3>", "<4>", "", ""]


def test_when_nothing_answers_at_all_the_list_is_measured_on_schedule(store: Store) -> None:
    async def shutdown(config: ProbeConfig) -> bool:
        return True
    lists, log = FakeLists(), Recorder()
    config = _config(store, ScheduleEntry(list="kz", every="10s"), backoff_initial="10s", backoff_max="10s")
    config = config.model_copy(update={"measure": config.measure.model_copy(
        update={"control_urls": ["https://192.0.2.1/"]})})
    runner = EntryRunner(config=config, run_list=lists, log=log, check_network=_up(False), stop=asyncio.Event(),
                         check_shutdown=shutdown)
    asyncio.run(runner.run("kz"))
    assert len(lists.calls) == 1 and runner.network == "down"  # the run itself records the outage
    [down] = log.events("network_down")
    assert down["shutdown"] is True and not log.events("run_skipped")
