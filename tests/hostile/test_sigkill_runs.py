"""Issue 18 #8: the runs row of a SIGKILLed `probe run` is closed as interrupted when next seen.

A real `probe run` measures a slow loopback origin and is killed with SIGKILL mid-run. Its row says
`running`; the next `probe status` (or the next run) sees its process is gone and marks it
`interrupted` with the counts of what it stored. A run whose process lives is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from probe.store import Store
from probe.store.liveness import close_dead_runs, owner_alive, this_process


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        time.sleep(0.2)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError):  # the probe was killed mid-request: expected here
            super().handle()


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _env(home: Path) -> dict[str, str]:
    return dict(os.environ, PROBE_KEY=str(home / "no-key"), XDG_CONFIG_HOME=str(home / "cfg"),
                XDG_STATE_HOME=str(home / "state"))


def _count(store: Path) -> int:
    if not store.exists():
        return 0
    with Store.open(store) as s:
        return s.count()


def test_a_sigkilled_run_is_marked_interrupted_when_next_seen(tmp_path: Path, origin: str) -> None:
    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "probe", "run", "--no-progress", "--parallel", "2",
                             "--allow-private-targets", "--resolver", "127.0.0.1:9", "--store", str(store),
                             *[f"{origin}{i}" for i in range(100)]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(tmp_path))
    deadline = time.monotonic() + 30
    while _count(store) < 3:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with Store.open(store) as s:
        [run] = s.runs()
        stored = s.count()
    assert run["status"] == "running"  # what a SIGKILL leaves

    status = subprocess.run([sys.executable, "-m", "probe", "status", "--store", str(store)], capture_output=True,
                            text=True, env=_env(tmp_path), timeout=60, check=False)
    assert status.returncode == 0, status.stderr
    with Store.open(store) as s:
        [run] = s.runs()
        assert run["status"] == "interrupted" and run["finished_at"]
        assert sum(int(v) for v in json.loads(str(run["counts"])).values()) == stored
        assert s.count() == stored  # closing the row touches no measurement


def test_a_live_run_is_left_alone_and_an_unknown_owner_too(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as s:
        s.start_run("live", "kz")  # owned by this (living) process
        s.start_run("old", "kz")
        s._conn.execute("UPDATE runs SET owner=NULL WHERE run_id='old'")  # a row from before migration 0007
        assert close_dead_runs(s) == []
        assert {r["run_id"]: r["status"] for r in s.runs()} == {"live": "running", "old": "running"}
    me = this_process()
    host, boot, pid, started = me.split("|")
    assert owner_alive(me) is True
    assert owner_alive(f"{host}|{boot}|{pid}|{int(started) + 1}") is False  # the pid, reused by another process
    assert owner_alive(f"{host}|another-boot|{pid}|{started}") is False
    assert owner_alive(f"elsewhere|{boot}|{pid}|{started}") is None
