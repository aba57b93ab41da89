"""Issue 18 #1: a store that is locked or full for a while must not stop the daemon for good.

The real daemon (scheduler, runner, the CLI's list runner) measures a loopback origin into a real
SQLite store. Mid-run, another connection takes the write lock with BEGIN IMMEDIATE (or the store's
page limit makes SQLite report a full disk); later the lock is released (the limit raised). The run
must fail with a logged line, be retried with backoff, show in the state `probe status` and systemd
read, and finish once the store is writable, with nothing stored twice and the chain intact.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from probe.cli.daemon import _list_runner
from probe.config import DaemonSettings, ProbeConfig, ScheduleEntry
from probe.evidence.verify.store import verify_store
from probe.models.settings import MeasureSettings, Timeouts
from probe.schedule.daemon import Daemon
from probe.schedule.state import read_state
from probe.schedule.status import collect_status
from probe.store import Store

N_URLS = 12


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        time.sleep(0.15)
        body = b"<html><title>page</title>ok</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


@pytest.fixture(scope="module")
def origin() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [f for e, f in self.lines if e == name]


def _home(tmp_path: Path, origin: int, monkeypatch: pytest.MonkeyPatch) -> ProbeConfig:
    monkeypatch.setenv("PROBE_KEY", str(tmp_path / "no-key"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    rows = ["url,category_code,category_description,date_added,source,notes"]
    rows += [f"http://127.0.0.1:{origin}/p/{i},HUMR,Human Rights Issues,2026-01-01,test," for i in range(N_URLS)]
    (tmp_path / "loop.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with socket_closed() as port:
        measure = MeasureSettings(parallel=2, resolver=f"127.0.0.1:{port}", allow_private_targets=True,
                                  timeouts=Timeouts(dns_s=1, tcp_s=2, tls_s=2, http_s=5))
    return ProbeConfig(store=tmp_path / "probe.sqlite", measure=measure,
                       daemon=DaemonSettings(stop_grace="1s", backoff_initial="0.3s", backoff_max="0.6s"),
                       schedule=[ScheduleEntry(list=str(tmp_path / "loop.csv"), every="1h", jitter="0s")])


class socket_closed:  # noqa: N801 - used like a function
    """A UDP port nobody listens on: the ISP resolver (IP-literal URLs never ask it)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


async def _until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


class LockFault:
    """Another process's write transaction: BEGIN IMMEDIATE on a second connection."""

    name = "locked"
    says = "locked"

    def __init__(self, store: Store) -> None:
        self._conn = sqlite3.connect(store.path, isolation_level=None, timeout=0.1)

    def start(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def end(self) -> None:
        self._conn.execute("COMMIT")
        self._conn.close()


class FullFault:
    """A full disk, as SQLite reports it: the store may not grow by one more page."""

    name = "full"
    says = "disk full"

    def __init__(self, store: Store) -> None:
        self._conn = store._conn  # the limit is per connection: it must be the daemon's own

    def start(self) -> None:
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        self._conn.execute(f"PRAGMA max_page_count = {pages}")

    def end(self) -> None:
        self._conn.execute("PRAGMA max_page_count = 1073741823")


@pytest.mark.parametrize("fault_kind", [LockFault, FullFault])
def test_a_store_fault_mid_run_is_logged_retried_shown_and_measuring_resumes(
        tmp_path: Path, origin: int, monkeypatch: pytest.MonkeyPatch, fault_kind: Any) -> None:
    config = _home(tmp_path, origin, monkeypatch)
    log = Lines()
    assert config.store is not None
    with Store.open(config.store) as store:
        store._conn.execute("PRAGMA busy_timeout = 200")  # not 30 s: the test would wait that long per write
        daemon = Daemon(config=config, store=store, run_list=_list_runner(store, log), log=log,  # type: ignore[arg-type]
                        reload_config=lambda: config, tick_s=0.2)
        fault = fault_kind(store)
        seen: dict[str, Any] = {}

        async def body() -> None:
            await _until(lambda: store.count() >= 2, what="the first measurements")
            fault.start()
            await _until(lambda: bool(log.events("run_retry")), what="a logged retry")
            seen["state"] = read_state(store.path)
            seen["status"] = collect_status(config, config_path=tmp_path / "config.toml")
            seen["systemd"] = daemon.summary_line()
            await asyncio.sleep(1.0)  # a few more failed attempts while the store stays unwritable
            fault.end()
            await _until(lambda: any(r["status"] == "finished" for r in log.events("run")), what="a finished run")
            seen["after"] = read_state(store.path)

        async def main() -> None:
            serving = asyncio.create_task(daemon.serve())
            try:
                await body()
            finally:
                daemon.request_stop()
                await asyncio.wait_for(serving, 20)
        asyncio.run(main())
        runs = log.events("run")
        failed = [r for r in runs if r["status"] == "failed"]
        assert failed and all(fault.says in r["error"] for r in failed), failed
        assert "cannot rollback" not in str(failed)
        assert runs[-1]["status"] == "finished" and len({r["run_id"] for r in runs}) == 1  # the same run, continued
        assert [r["retry_in_s"] for r in log.events("run_retry")][:2] == [0.3, 0.6]
        failing = seen["state"]["failing"][config.schedule[0].key]
        assert fault.says in failing["error"] and failing["failures"] >= 1 and failing["retry_at"]
        listed = seen["status"].lists[0]
        assert listed.failing is not None and fault.says in listed.failing["error"]
        assert "failing since" in seen["systemd"] and fault.says in seen["systemd"]
        assert seen["after"]["failing"] == {}
        assert store.count() == N_URLS  # each URL once: nothing lost, nothing stored twice
        entries = list(store.entries())
        assert len({e.input for e in entries}) == N_URLS
        assert verify_store(store, public_key=None).ok
