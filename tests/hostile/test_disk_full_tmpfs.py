"""Issue 18 #8: a disk that fills up in the middle of `probe run` says "disk full", on a real full disk.

The store lives on a 22 MiB tmpfs (root mounts it; removed afterwards); a loopback origin serves
incompressible 500 KB pages until the disk is full. The run stops with one line saying disk full (not
SQLite's "cannot rollback - no transaction is active"), everything stored before verifies, and the
runs row says failed (or, when the disk refuses even that, stays for the next look to close).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.lab


class _Big(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = os.urandom(500_000)
        with contextlib.suppress(ConnectionError):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root: mounts a small tmpfs")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=22m,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_disk_full_mid_run_says_disk_full_and_keeps_what_was_stored(small_disk: Path, tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Big)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    store = small_disk / "probe.sqlite"
    env = dict(os.environ, PROBE_KEY=str(tmp_path / "no-key"), XDG_STATE_HOME=str(tmp_path / "state"))
    try:
        out = subprocess.run([sys.executable, "-m", "probe", "run", "--no-progress", "--allow-private-targets",
                              "--parallel", "2", "--resolver", "127.0.0.1:9", "--store", str(store),
                              *[f"{base}{i}" for i in range(80)]],
                             capture_output=True, text=True, env=env, timeout=300, check=False)
    finally:
        server.shutdown()
        server.server_close()
    last = out.stderr.strip().splitlines()[-1]
    assert out.returncode == 2 and last.startswith("error: disk full: cannot write to the store"), out.stderr
    assert "cannot rollback" not in out.stderr and "Traceback" not in out.stderr
    with contextlib.closing(sqlite3.connect(store)) as conn:
        stored = conn.execute("SELECT count(*) FROM measurements").fetchone()[0]
        statuses = [r[0] for r in conn.execute("SELECT status FROM runs")]
    # Closing the row is a signed run record too, which a full disk may refuse: then it stays `running`
    # and the next run or `probe status` with free space closes it as interrupted.
    assert 10 < stored < 80 and statuses in (["failed"], ["running"])
    status = subprocess.run([sys.executable, "-m", "probe", "status", "--store", str(store)], capture_output=True,
                            text=True, env=env, timeout=120, check=False)
    assert status.returncode == 0 and "Traceback" not in status.stderr, status.stderr
    verify = subprocess.run([sys.executable, "-m", "probe", "verify", "--store", str(store)], capture_output=True,
                            text=True, env=env, timeout=120, check=False)
    assert verify.returncode == 0, verify.stdout
