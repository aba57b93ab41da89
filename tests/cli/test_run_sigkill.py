"""`probe run` killed with SIGKILL mid-list: batched commits lose no measurement it finished more than
one commit interval (runner.COMMIT_INTERVAL_S) before the kill, and the chain still links.

A real process against a slow loopback HTTP server (IP-literal URLs, a closed loopback port as its
resolver): nothing leaves the machine. Each `--json` line is printed right after its measurement was
appended, so the time the test reads a line is when that measurement was finished.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from test_daemon_cli import _closed_port, _Slow

from probe.measure.runner import COMMIT_INTERVAL_S
from probe.models.canonical import GENESIS_HASH, chain_hash
from probe.store import Store

N_URLS = 60
# The flusher looks every quarter interval; a loaded machine may run it late: leave it a margin.
MARGIN_S = 1.25 * COMMIT_INTERVAL_S + 0.5


@pytest.fixture(scope="module")
def origin() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_sigkill_loses_no_measurement_finished_before_the_last_interval(tmp_path: Path, origin: int) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"http://127.0.0.1:{origin}/page/{i}\n" for i in range(N_URLS)), encoding="utf-8")
    store = tmp_path / "p.sqlite"
    env = dict(os.environ, PROBE_KEY=str(tmp_path / "no-key"), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               XDG_STATE_HOME=str(tmp_path / "state"), PYTHONUNBUFFERED="1")
    env.pop("PROBE_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "probe", "run", "--list", str(urls), "--json", "--allow-private-targets",
         "--parallel", "4", "--store", str(store),
         "--resolver", f"127.0.0.1:{_closed_port()}", "--timeout-dns", "1", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    finished: list[tuple[float, str]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            finished.append((time.monotonic(), json.loads(line)["measurement_id"]))
            if len(finished) >= 24:  # six rounds of --parallel 4 at 0.3 s each
                break
        time.sleep(COMMIT_INTERVAL_S / 2)  # some finished long enough ago, some just now
        killed_at = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with Store.open(store, create=False) as opened:
        stored = {e.measurement_id for e in opened.entries()}
        prev = GENESIS_HASH
        for link in opened.links():
            assert link.prev_hash == prev and link.chain_hash == chain_hash(prev, link.record_sha256)
            prev = link.chain_hash
        verdicts = {e.measurement_id for e in opened.entries() if e.verdict is not None}
    old = [mid for at, mid in finished if killed_at - at > MARGIN_S]
    assert old, "the test killed too early to say anything"
    assert set(old) <= stored
    assert len(stored) < N_URLS  # killed mid-list
    assert verdicts == stored  # a verdict link always committed with its measurement
