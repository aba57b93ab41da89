"""`probe run` as a user meets it: bad input is one line, never a traceback; JSON lines are complete."""

from __future__ import annotations

import contextlib
import http.server
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from probe.store import Store


def probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = b"<html><title>Lab origin</title></html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_nothing_to_measure_is_one_line(tmp_path: Path) -> None:
    out = probe("run", "--allow-private-targets", "--store", str(tmp_path / "s.sqlite"))
    assert out.returncode == 2 and "nothing to measure" in out.stderr and "Traceback" not in out.stderr


def test_bad_urls_are_named_and_the_others_still_run(tmp_path: Path, origin: str) -> None:
    out = probe("run", "--allow-private-targets", "--no-progress", "--store", str(tmp_path / "s.sqlite"),
                "javascript:alert(1)", "ftp://who.int/", "http://exa mple.org/", origin)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    for bad in ("javascript:alert(1)", "ftp://who.int/", "exa mple.org"):
        assert bad in out.stderr
    assert "1 measured" in out.stdout


def test_unusable_store_is_a_clear_error_before_measuring(tmp_path: Path, origin: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = probe("run", "--allow-private-targets", "--store", str(blocker / "s.sqlite"), origin)
    assert out.returncode == 2 and "store" in out.stderr and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1


def test_json_lines_carry_measurement_and_chain(tmp_path: Path, origin: str) -> None:
    out = probe("run", "--allow-private-targets", "--json", "--store", str(tmp_path / "s.sqlite"), origin, origin + "x")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 2
    for line in lines:
        m = line["measurement"]
        assert m["requests"][0]["response"]["code"] in (200,)
        assert m["tcp_connect"][0]["failure"] is None
        assert len(line["chain_hash"]) == 64
        assert line["measurement_id"] == m["measurement_id"]
    with Store.open(tmp_path / "s.sqlite", create=False) as store:  # the stored record's bytes, not re-encoded
        for raw, line in zip(out.stdout.splitlines(), lines, strict=True):
            entry = store.get(line["measurement_id"])
            assert entry is not None and f'"measurement": {entry.record}}}' in raw


def test_results_and_show_read_what_run_stored(tmp_path: Path, origin: str) -> None:
    store = str(tmp_path / "s.sqlite")
    probe("run", "--allow-private-targets", "--no-progress", "--store", store, origin)
    listed = probe("results", "--json", "--store", store)
    mid = json.loads(listed.stdout.splitlines()[0])["measurement_id"]
    shown = probe("show", mid[:8], "--store", store)
    assert shown.returncode == 0 and "http get" in shown.stdout and "Lab origin" in shown.stdout
    missing = probe("show", "ffffffff", "--store", store)
    assert missing.returncode == 2 and "no measurement" in missing.stderr


def test_reading_a_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    out = probe("results", "--store", str(tmp_path / "none.sqlite"))
    assert out.returncode == 2 and "no store" in out.stderr


def test_ctrl_c_stops_cleanly_and_keeps_finished_measurements(tmp_path: Path) -> None:
    """SIGINT mid-run: exit 130, no traceback, every finished measurement stored in one valid chain."""
    import signal
    import time

    class Slow(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            time.sleep(0.2)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    store = tmp_path / "s.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "probe", "run", "--no-progress", "--parallel", "2",
                             "--allow-private-targets",
                             "--store", str(store), *[f"{base}{i}" for i in range(200)]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60  # start-up alone takes seconds on a loaded machine: wait for a first row
    while time.monotonic() < deadline and proc.poll() is None and not _stored(store):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    server.shutdown()
    assert proc.returncode == 130 and "Traceback" not in err, err
    verify = probe("verify", "--store", str(store))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    listed = probe("results", "--json", "--limit", "1000", "--store", str(store)).stdout.splitlines()
    assert 0 < len(listed) < 200


def _stored(store: Path) -> int:
    """Rows stored so far (0 while the store is still being created)."""
    if not store.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(store)) as conn:
            return int(conn.execute("SELECT count(*) FROM measurements").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize(("args", "says"), [
    (["--not-bogon", "bad"], "--not-bogon: not a CIDR"),
    (["--timeout-dns", "0"], "--timeout-dns:"),
    (["--body-cap", "10"], "--body-cap:"),
    (["--resolver", "dns.example"], "--resolver: the resolver must be an IP address"),
    (["--ca-bundle", "/etc/hostname"], "--ca-bundle /etc/hostname: not a PEM bundle"),
])
def test_bad_options_are_one_line_before_measuring(tmp_path: Path, args: list[str], says: str) -> None:
    out = probe("run", "--allow-private-targets", "--store", str(tmp_path / "s.sqlite"), *args, "http://127.0.0.1:9/")
    assert out.returncode == 2 and says in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not (tmp_path / "s.sqlite").exists() or "--ca-bundle" not in args
