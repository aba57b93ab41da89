"""`probe daemon`, `probe status`, `probe config check`, `probe prune` as a volunteer runs them.

The daemon runs as a real process against a loopback HTTP server with IP-literal URLs (no DNS), and
its ISP resolver is a closed loopback port: nothing here leaves the machine or asks the host's
resolver. The daemon is killed with SIGKILL mid-run and restarted: the run continues under its run id,
nothing finished is lost or stored twice, the chain still links, and `probe status` says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from probe.models.canonical import GENESIS_HASH, chain_hash
from probe.store import Store

N_URLS = 20
DELAY_S = 0.3


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        time.sleep(DELAY_S)
        body = b"<html><title>page</title>ok</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError):  # the daemon was killed mid-request: expected here
            super().handle()


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def origin() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture
def probe_home(tmp_path: Path, origin: int) -> Path:
    lines = ["url,category_code,category_description,date_added,source,notes"]
    lines += [f"http://127.0.0.1:{origin}/page/{i},HUMR,Human Rights Issues,2026-01-01,test," for i in range(N_URLS)]
    (tmp_path / "loop.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _write_config(tmp_path, every="10s")
    return tmp_path


def _write_config(home: Path, *, every: str, extra: str = "") -> Path:
    path = home / "config.toml"
    path.write_text(f"""
store = "probe.sqlite"
[measure]
parallel = 2
resolver = "127.0.0.1:{_closed_port()}"
[measure.timeouts]
dns_s = 1
tcp_s = 2
tls_s = 2
http_s = 5
[daemon]
stop_grace = "3s"
[[schedule]]
list = "loop.csv"
every = "{every}"
jitter = "0s"
{extra}""", encoding="utf-8")
    return path


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"XDG_CONFIG_HOME": str(home / "cfg"), "XDG_STATE_HOME": str(home / "state"),
                "PROBE_KEY": str(home / "no-key"), "PYTHONUNBUFFERED": "1"})
    env.pop("PROBE_CONFIG", None)
    env.pop("STATE_DIRECTORY", None)
    return env


def _probe(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True,
                          env=_env(home), timeout=60, check=False)


class DaemonProcess:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.log_path = home / f"daemon-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "probe", "daemon", "--config", str(home / "config.toml"), "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=self._log, env=_env(home))

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.log_path.read_text(encoding="utf-8").splitlines()
                 if line.startswith("{")]
        return [e for e in lines if name is None or e["event"] == name]

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 20) -> int:
        code = self.proc.wait(timeout=timeout)
        self._log.close()
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()


def _until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _count(home: Path) -> int:
    path = home / "probe.sqlite"
    if not path.exists():
        return 0
    with Store.open(path) as store:
        return store.count()


def _runs(home: Path) -> list[dict[str, object]]:
    with Store.open(home / "probe.sqlite") as store:
        return list(reversed(store.runs()))


def test_the_daemon_survives_sigkill_and_continues_the_run(probe_home: Path) -> None:
    first = DaemonProcess(probe_home)
    try:
        _until(lambda: _count(probe_home) >= 4, what="the first measurements")
        first.signal(signal.SIGKILL)
        first.wait()
        killed_at = _count(probe_home)
        assert 4 <= killed_at < N_URLS, "killed mid-run"
        [run] = _runs(probe_home)
        assert run["status"] == "running" and str(run["run_id"]).startswith("daemon-")
        status = json.loads(_probe(probe_home, "status", "--config", str(probe_home / "config.toml"), "--json").stdout)
        assert not status["daemon_running"] and status["lists"][0]["last_run"]["status"] == "unfinished"
    finally:
        first.stop()

    second = DaemonProcess(probe_home)
    try:
        _until(lambda: bool(second.events("run")), what="the continued run")
        continued = second.events("run")[0]
        assert continued["run_id"] == run["run_id"] and continued["reason"] == "continued"
        assert continued["status"] == "finished" and continued["total"] == N_URLS  # the whole run, both parts
        _check_store(probe_home, expected=N_URLS, runs=1)
        status = json.loads(_probe(probe_home, "status", "--config", str(probe_home / "config.toml"), "--json").stdout)
        assert status["daemon_running"] and status["measurements"] == N_URLS and status["store_size_bytes"] > 0
        [item] = status["lists"]
        assert item["last_run"]["status"] == "finished" and item["last_run"]["total"] == N_URLS
        assert item["last_run"]["run_id"] == run["run_id"] and len(item["next_runs"]) == 1

        # The next run comes every 10 s after the last one started (jitter 0), not 10 s after restart.
        _until(lambda: len(second.events("run")) >= 2, timeout=40, what="the next scheduled run")
        runs = _runs(probe_home)
        gap = (datetime.fromisoformat(str(runs[1]["started_at"]))
               - datetime.fromisoformat(str(runs[0]["started_at"]))).total_seconds()
        assert 9.5 <= gap <= 13, gap
        assert second.events("run")[1]["reason"] == "scheduled" and second.events("run")[1]["total"] == N_URLS
        second.signal(signal.SIGTERM)
        assert second.wait() == 0
        assert second.events()[-1]["event"] == "daemon_stopped"
    finally:
        second.stop()
    _check_store(probe_home, expected=2 * N_URLS, runs=2)
    text = (second.log_path.read_text(encoding="utf-8"))
    assert "127.0.0.1" not in text, "no IP addresses in the log"


def _check_store(home: Path, *, expected: int, runs: int) -> None:
    with Store.open(home / "probe.sqlite") as store:
        entries = list(store.entries())
        assert len(entries) == expected
        by_run: dict[str | None, set[str]] = {}
        for entry in entries:
            by_run.setdefault(entry.run_id, set()).add(entry.input)
        assert len(by_run) == runs and all(len(inputs) == N_URLS for inputs in by_run.values())
        prev = GENESIS_HASH
        for link in store.links():  # measurements and their verdict, key and run records: one chain
            assert link.prev_hash == prev and link.chain_hash == chain_hash(prev, link.record_sha256)
            prev = link.chain_hash


def test_sigterm_mid_run_keeps_finished_measurements_and_sighup_reloads(probe_home: Path) -> None:
    daemon = DaemonProcess(probe_home)
    try:
        _until(lambda: bool(daemon.events("daemon_started")), what="start")
        _write_config(probe_home, every="10s", extra="cron = 'x'\n")  # both cron and every, and a bad cron
        daemon.signal(signal.SIGHUP)
        _until(lambda: bool(daemon.events("config_reload_failed")), what="the reload failure")
        assert "schedule[0].cron" in daemon.events("config_reload_failed")[0]["error"]
        _write_config(probe_home, every="1h")
        daemon.signal(signal.SIGHUP)
        _until(lambda: bool(daemon.events("config_reloaded")), what="the reload")
        _until(lambda: _count(probe_home) >= 3, what="measurements")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    finally:
        daemon.stop()
    [run] = daemon.events("run")
    assert run["status"] in ("interrupted", "finished")
    kept = _count(probe_home)
    assert kept == run["total"] and kept >= 3


def test_a_wrong_configuration_is_one_line_at_start(probe_home: Path) -> None:
    cases = [("colour = 'blue'\n", "colour: unknown key"),
             ("[[schedule]]\nlist = 'nope'\nevery = '1h'\n", "no list file or shipped list named 'nope'"),
             ("[[schedule]]\nlist = 'kz'\ncron = '0 6 * *'\n", "schedule[1].cron: a cron expression has 5")]
    for extra, expected in cases:
        config = probe_home / "config.toml"
        text = _write_config(probe_home, every="1h").read_text(encoding="utf-8")
        config.write_text(extra + text if extra.startswith("colour") else text + extra, encoding="utf-8")
        for command in (["daemon"], ["config", "check"]):
            result = _probe(probe_home, *command, "--config", str(config))
            assert result.returncode == 2
            assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
            assert "Traceback" not in result.stderr


def test_a_broken_signing_key_is_one_line_at_start_not_a_failed_run_each_time(probe_home: Path) -> None:
    key = probe_home / "broken.key"
    key.write_text("not a key\n", encoding="utf-8")
    key.chmod(0o600)
    config = probe_home / "config.toml"
    text = _write_config(probe_home, every="1h").read_text(encoding="utf-8")
    config.write_text(f"key = {str(key)!r}\n" + text, encoding="utf-8")
    result = _probe(probe_home, "daemon", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.count("\n") <= 2 and "is not a readable private key" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (probe_home / "probe.sqlite").exists()  # nothing was started


def test_config_check_prints_the_effective_configuration(probe_home: Path) -> None:
    result = _probe(probe_home, "config", "check", "--config", str(probe_home / "config.toml"))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and 'stop_grace = "3s"' in result.stdout and "[measure.timeouts]" in result.stdout
    assert 'every = "10s"' in result.stdout and "# schedule loop: next" in result.stdout


def test_status_without_a_daemon_or_a_store(probe_home: Path) -> None:
    result = _probe(probe_home, "status", "--config", str(probe_home / "config.toml"))
    assert result.returncode == 0, result.stderr
    assert "daemon: not running" in result.stdout and "not created yet" in result.stdout
    assert "every 10s" in result.stdout
    missing = _probe(probe_home, "status", "--config", str(probe_home / "none.toml"))
    assert missing.returncode == 2 and "no configuration file at" in missing.stderr


def test_prune_keeps_measurements_and_the_chain(probe_home: Path) -> None:
    run = _probe(probe_home, "run", "--list", str(probe_home / "loop.csv"), "--store", str(probe_home / "probe.sqlite"),
                 "--resolver", f"127.0.0.1:{_closed_port()}", "--no-progress", "--parallel", "8")
    assert run.returncode == 0, run.stderr
    result = _probe(probe_home, "prune", "--older-than", "30", "--config", str(probe_home / "config.toml"))
    assert result.returncode == 0, result.stderr
    assert "pruned 0 artifact(s)" in result.stdout  # nothing is 30 days old yet

    from datetime import UTC, timedelta

    from probe.schedule.retention import prune_older_than

    store_path = probe_home / "probe.sqlite"
    with Store.open(store_path) as store:
        before = [(e.measurement_id, e.chain_hash) for e in store.entries()]
        pruned = prune_older_than(store, days=30, now=datetime.now(UTC) + timedelta(days=31))
        assert pruned > 0
        assert [(e.measurement_id, e.chain_hash) for e in store.entries()] == before
        entry = store.get(before[0][0])
        assert entry is not None
        response = entry.measurement().requests[-1].response
        assert response is not None and response.body_sha256
        body_sha = response.body_sha256
        assert store.artifact(body_sha) is None
    _check_store(probe_home, expected=N_URLS, runs=1)
    verified = _probe(probe_home, "verify", "--store", str(store_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "pruned" in verified.stdout  # said, not counted as tampering

    # The same pages measured again: the pruned body is stored again, and the store still verifies.
    again = _probe(probe_home, "run", "--list", str(probe_home / "loop.csv"), "--store", str(store_path),
                   "--resolver", f"127.0.0.1:{_closed_port()}", "--no-progress", "--parallel", "8")
    assert again.returncode == 0, again.stderr
    with Store.open(store_path) as store:
        assert store.artifact(body_sha) is not None
    verified = _probe(probe_home, "verify", "--store", str(store_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    _check_store(probe_home, expected=2 * N_URLS, runs=2)
