"""Shared by the benchmarks: build a lab for a list of URLs and run `probe run` inside its client.

Figures come from the kernel (wall clock, the probe process's own rusage: CPU seconds and peak RSS),
never from the probe's own claims. The lab's servers, control helper and delayer run in other
processes: their CPU is reported separately so it can be kept out of the probe's figures.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from probe.lab.lab import Lab
from probe.models.settings import Timeouts

ROOT = Path(__file__).resolve().parents[1]
LISTS = ROOT / "tests" / "data" / "citizenlab-test-lists"
# The probe's own defaults (what volunteers run), read from the settings model so they cannot drift.
DEFAULT_TIMEOUTS = {k.removesuffix("_s"): v for k, v in Timeouts().model_dump().items()}


@dataclass(frozen=True)
class RunFigures:
    urls: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    sys_s: float  # of cpu_s, in the kernel: with veths and netem, packets' way through the lab counts here
    measured: int
    exit_code: int
    # When the last URL of the list started, from the probe's start: the rest of the wall time is the
    # tail, the slowest measurements still open (a censored host's timeout, 10 s, when one started late).
    last_start_s: float = 0.0


def citizenlab_urls() -> list[str]:
    """Every distinct URL of the Citizen Lab global + kz lists, normalised as the probe would."""
    from probe.targets import load_targets

    seen: dict[str, None] = {}
    for name in ("global.csv", "kz.csv"):
        for target in load_targets(LISTS / name):
            seen.setdefault(target.url, None)
    return list(seen)


def write_list(urls: list[str], folder: Path) -> Path:
    path = folder / "bench.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["url", "category_code", "category_description", "date_added", "source", "notes"])
        for url in urls:
            writer.writerow([url, "MISC", "Miscelaneous content", "2026-11-26", "benchmark", ""])
    return path


def probe_flags(lab: Lab, *, timeouts: dict[str, float]) -> list[str]:
    """The lab's flags, with the timeouts the benchmark asks for spelled out (so its output says them)."""
    flags, out, skip = lab.probe_args(), [], False
    for i, flag in enumerate(flags):
        if skip:
            skip = False
            continue
        if flag.startswith("--timeout-"):
            skip = True
            continue
        out.append(flag)
        del i
    for step, seconds in timeouts.items():
        out += [f"--timeout-{step}", f"{seconds:g}"]
    return out


def run_probe(lab: Lab, urls: list[str], *, parallel: int, timeouts: dict[str, float]) -> RunFigures:
    """One `probe run` over `urls` in the lab's client namespace, measured by the kernel."""
    with tempfile.TemporaryDirectory(prefix="probe-bench-") as tmp:
        folder = Path(tmp)
        targets = write_list(urls, folder)
        store = folder / "bench.sqlite"
        argv = [sys.executable, "-m", "probe", "run", *probe_flags(lab, timeouts=timeouts), "--list", str(targets),
                "--parallel", str(parallel), "--store", str(store)]
        start = time.perf_counter()
        started_at = time.time()
        proc = lab.client_popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        assert proc.stderr is not None
        err = proc.stderr.read()
        # This process's own rusage (wait4), not RUSAGE_CHILDREN: that one's peak RSS is the largest of
        # every child so far, so a second run (--urls 500,2000) would report the first one's peak.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        measured = _count(store)
        last_start = _last_start(store) - started_at if measured else 0.0
    if proc.returncode != 0:
        sys.stderr.write(err[-2000:])
    cpu = usage.ru_utime + usage.ru_stime
    return RunFigures(urls=len(urls), wall_s=wall, cpu_s=cpu, peak_rss_mb=usage.ru_maxrss / 1024,
                      sys_s=usage.ru_stime, measured=measured, exit_code=proc.returncode,
                      last_start_s=last_start)


def _last_start(store: Path) -> float:
    import sqlite3
    from datetime import datetime

    with sqlite3.connect(store) as conn:
        text = str(conn.execute("SELECT max(test_start_time) FROM measurements").fetchone()[0])
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _count(store: Path) -> int:
    import sqlite3

    if not store.exists():
        return 0
    with sqlite3.connect(store) as conn:
        return int(conn.execute("SELECT count(*) FROM measurements").fetchone()[0])


def lab_process_cpu(lab: Lab) -> dict[str, float]:
    """CPU seconds used so far by each of the lab's own processes (servers, helper, middlebox), their
    living children included: nginx's workers do its TLS, and a parent counts a child only once it
    has reaped it (at shutdown, after the figures were read)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    children = _children()
    for pid_file in sorted((lab.state / "pids").glob("*.pid")):
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        family, total, found = [pid], 0.0, False
        while family:
            member = family.pop()
            family.extend(children.get(member, ()))
            fields = _stat(member)
            if fields is None:
                continue
            found = True
            # utime + stime, and the children it has reaped (cutime + cstime)
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
        if found:
            out[pid_file.stem] = total
    return out


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children() -> dict[int, list[int]]:
    """Every process's living children, by parent PID (from /proc)."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                out.setdefault(int(fields[1]), []).append(int(entry.name))
    return out
