#!/usr/bin/env python3
"""SIGKILL loops against `probe run`, `probe daemon` and `probe export`: what survives, what is lost.

Loopback only: a slow HTTP origin on 127.0.0.1 (IP-literal URLs, --allow-private-targets), the ISP
resolver a closed port. Each loop kills the real process at a random moment and counts:

- probe run: every measurement it printed (--json, printed after its append) more than one commit
  interval (+ a margin) before the kill must still be in the store, and only those of that last batch
  may be lost (`lost_in_last_batch`, runs commit in 0.25 s batches); the chain must verify; no runs row
  may stay `running` once `probe status` has looked.
- probe daemon: restarted after each kill, it continues the run; at the end each URL is stored once
  per run, nothing printed as stored is missing, and the chain verifies.
- probe export: after each kill, the next export leaves no staging folder and nothing in TMPDIR.

    .venv/bin/python benchmarks/sigkill_loop.py                 # 20 run kills, 10 daemon kills, 10 export kills
    .venv/bin/python benchmarks/sigkill_loop.py --runs 5 --daemons 3 --exports 3 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from probe.measure.runner import COMMIT_INTERVAL_S
from probe.store import Store

PY = [sys.executable, "-m", "probe"]


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        time.sleep(0.05)
        body = os.urandom(2048)
        with contextlib.suppress(ConnectionError):  # killed mid-request: expected
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, PROBE_KEY=str(home / "key"), XDG_CONFIG_HOME=str(home / "cfg"),
               XDG_STATE_HOME=str(home / "state"), TMPDIR=str(home / "tmp"), PYTHONUNBUFFERED="1")
    env.pop("NOTIFY_SOCKET", None)
    return env


def _verify(home: Path, store: Path) -> bool:
    return subprocess.run([*PY, "verify", "--store", str(store)], env=_env(home), capture_output=True,
                          check=False).returncode == 0


def _kill_after(proc: subprocess.Popen[Any], started: Any, rng: random.Random, low: float, high: float) -> float:
    """SIGKILL `proc` a random time after `started()` turns true (start-up is slow on a busy machine)."""
    deadline = time.monotonic() + 120
    while not started() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(rng.uniform(low, high))
    killed_at = time.monotonic()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return killed_at


# A batch commits once it is COMMIT_INTERVAL_S old; the flusher looks every quarter of that, and a
# loaded machine may run it (or print a line) late.
MARGIN_S = 1.25 * COMMIT_INTERVAL_S + 0.5


def _read_lines(stream: Any, into: list[tuple[float, str]]) -> None:
    for line in stream:
        with contextlib.suppress(ValueError, KeyError):  # the last line may be cut by the kill
            into.append((time.monotonic(), json.loads(line)["measurement_id"]))


def _count(store: Path) -> int:
    if not store.exists():
        return 0
    with Store.open(store) as s:
        return s.count()


def run_loop(home: Path, base: str, kills: int, rng: random.Random) -> dict[str, Any]:
    store = home / "run.sqlite"
    printed: set[str] = set()
    last_batch: set[str] = set()  # printed within MARGIN_S of a kill: may be lost with the open batch
    for _ in range(kills):
        urls = [f"{base}r/{rng.randrange(10**9)}" for _ in range(300)]
        lines: list[tuple[float, str]] = []
        proc = subprocess.Popen([*PY, "run", "--json", "--no-progress", "--allow-private-targets",
                                 "--parallel", "8", "--resolver", f"127.0.0.1:{_closed_port()}",
                                 "--store", str(store), *urls],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env={**_env(home), "PYTHONUNBUFFERED": "1"})
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
        reader.start()
        killed_at = _kill_after(proc, lambda lines=lines: bool(lines), rng, 0.0, 2.0)
        reader.join(timeout=10)
        printed |= {mid for at, mid in lines if killed_at - at > MARGIN_S}
        last_batch |= {mid for at, mid in lines if killed_at - at <= MARGIN_S}
    subprocess.run([*PY, "status", "--store", str(store)], env=_env(home), capture_output=True, check=False)
    with Store.open(store) as s:
        ids = {e.measurement_id for e in s.entries()}
        statuses = Counter(str(r["status"]) for r in s.runs(limit=10_000))
    return {"kills": kills, "stored": len(ids), "printed_before_last_batch": len(printed),
            "lost": len(printed - ids), "lost_in_last_batch": len(last_batch - ids),
            "runs_rows": dict(statuses), "chain_verifies": _verify(home, store)}


def daemon_loop(home: Path, base: str, kills: int, rng: random.Random) -> dict[str, Any]:
    n_urls = 400
    rows = ["url,category_code,category_description,date_added,source,notes"]
    rows += [f"{base}d/{i},HUMR,Human Rights Issues,2026-01-01,bench," for i in range(n_urls)]
    (home / "loop.csv").write_text("\n".join(rows) + "\n")
    config = home / "config.toml"
    config.write_text(f"""store = "daemon.sqlite"
[measure]
parallel = 2
allow_private_targets = true
resolver = "127.0.0.1:{_closed_port()}"
[daemon]
stop_grace = "2s"
[[schedule]]
list = "loop.csv"
every = "1h"
jitter = "0s"
""")
    store = home / "daemon.sqlite"
    for _ in range(kills):
        before = _count(store)
        proc = subprocess.Popen([*PY, "daemon", "--config", str(config)], stderr=subprocess.DEVNULL, env=_env(home))
        _kill_after(proc, lambda before=before: _count(store) > before, rng, 0.0, 2.0)  # type: ignore[misc]
    with Store.open(store) as s:
        done = bool(s.runs()) and s.runs()[0]["status"] == "finished"  # the kills came too late to stop it
    if not done:
        proc = subprocess.Popen([*PY, "daemon", "--config", str(config), "--log-format", "json"],
                                stderr=subprocess.PIPE, text=True, env=_env(home))
        assert proc.stderr is not None
        for line in proc.stderr:
            event = json.loads(line) if line.startswith("{") else {}
            if event.get("event") == "run":  # the continued run is over
                break
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    with Store.open(store) as s:
        per_run = Counter((e.run_id, e.input) for e in s.entries())
        runs = s.runs(limit=10_000)
    last = runs[0] if runs else {}
    return {"kills": kills, "runs": len(runs), "final_run": last.get("status"),
            "final_run_total": sum(json.loads(str(last.get("counts") or "{}")).values()), "urls": n_urls,
            "stored_twice": sum(1 for n in per_run.values() if n > 1), "chain_verifies": _verify(home, store)}


def export_loop(home: Path, kills: int, rng: random.Random) -> dict[str, Any]:
    store = home / "run.sqlite"
    out = home / "share" / "bundle.zip"
    killed_staged = 0
    for _ in range(kills):
        proc = subprocess.Popen([*PY, "export", "--force", "--store", str(store), "--out", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(home))
        _kill_after(proc, lambda: out.parent.exists() and any(out.parent.glob(".*probe-export-*")), rng, 0.0, 0.3)
        killed_staged += len(list(out.parent.glob(".*probe-export-*"))) if out.parent.exists() else 0
    last = subprocess.run([*PY, "export", "--force", "--store", str(store), "--out", str(out)], env=_env(home),
                          capture_output=True, text=True, check=False)
    return {"kills": kills, "staging_left_by_kills_seen": killed_staged,
            "staging_left_after_next_export": len(list(out.parent.glob(".*probe-export-*"))),
            "tmpdir_entries": len(list((home / "tmp").iterdir())), "last_export_exit": last.returncode,
            "last_export_error": last.stderr.strip()[-200:] if last.returncode else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--daemons", type=int, default=10)
    parser.add_argument("--exports", type=int, default=10)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    with tempfile.TemporaryDirectory(prefix="sigkill-loop-") as tmp:
        home = Path(tmp)
        (home / "tmp").mkdir()
        subprocess.run([*PY, "init", "--yes"], env=_env(home), capture_output=True, check=False)  # signed runs
        figures: dict[str, Any] = {}
        phases = (("probe_run", lambda: run_loop(home, base, args.runs, rng)),
                  ("probe_export", lambda: export_loop(home, args.exports, rng)),
                  ("probe_daemon", lambda: daemon_loop(home, base, args.daemons, rng)))
        for name, phase in phases:
            figures[name] = phase()
            if not args.json:  # each phase as it ends: the whole loop takes minutes
                print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in figures[name].items()), flush=True)
    server.shutdown()
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
