"""Runs of two trees of the probe taken in turn, so a noisy machine still gives figures to compare.

A shared or virtual machine can run the same code a quarter slower in one minute than in the next,
so a claim of speed is a ratio of runs taken alternately: this tree, the other, this tree, the
other... Each run is a tree's own benchmarks/throughput.py in a fresh process with its own lab, so
older code is measured by its own script, as it was measured then; the figures compared are those
every version of the script printed (wall time, probe CPU, the helper's CPU, peak RSS) or can be
worked out from them.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# figure → what it is; less is better for each, so a ratio (theirs / ours) above 1 favours this tree
COMPARED = {
    "wall_s": "wall time",
    "cpu_ms_per_url": "probe CPU per URL",
    "control_cpu_ms_per_url": "helper CPU per URL (one control question each)",
    "peak_rss_mb": "peak RSS",
}


def check_tree(tree: Path) -> str | None:
    """Why `tree` cannot be measured (None when it can): it must be a checkout with the probe and this script."""
    if not (tree / "benchmarks" / "throughput.py").is_file():
        return f"{tree} has no benchmarks/throughput.py (give a checkout of the probe, e.g. a git worktree)"
    if not (tree / "probe" / "__init__.py").is_file():
        return f"{tree} has no probe package"
    return None


def command(tree: Path, size: int, passed: list[str]) -> list[str]:
    """One run of `tree`'s script for `size` URLs, JSON out, no sequential sample, `passed` flags added."""
    return [sys.executable, str(tree / "benchmarks" / "throughput.py"), "--urls", str(size), "--sample", "0",
            "--json", *passed]


def run_once(tree: Path, size: int, passed: list[str]) -> dict[str, object] | str:
    """The figures `tree` printed for one run, or why there are none (the script's own last words)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command(tree, size, passed), cwd=tree, env=env, capture_output=True, text=True,
                          check=False)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                break
            if isinstance(found, dict):
                return found
    said = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}, no figures"])[-1]
    return f"{tree}: {said}"


def figures(run: dict[str, object]) -> dict[str, float]:
    """The compared figures of one run, from what any version of throughput.py printed."""
    urls = max(_number(run.get("urls")), 1.0)
    lab = run.get("lab_cpu_s")
    helper_s = _number(lab.get("control")) if isinstance(lab, dict) else 0.0
    return {
        "wall_s": _number(run.get("wall_s")),
        "cpu_ms_per_url": 1000 * _number(run.get("cpu_s")) / urls,
        "control_cpu_ms_per_url": 1000 * helper_s / urls,
        "peak_rss_mb": _number(run.get("peak_rss_mb")),
    }


def ratios(ours: dict[str, float], theirs: dict[str, float]) -> dict[str, float | None]:
    """theirs / ours for each figure: above 1, this tree is that many times faster, cheaper or smaller."""
    return {key: (round(theirs[key] / ours[key], 2) if ours[key] > 0 else None) for key in COMPARED}


def summary(pair_ratios: list[dict[str, float | None]]) -> dict[str, dict[str, float] | None]:
    """Lowest, median and highest ratio of each figure over the pairs (None when no pair had one)."""
    out: dict[str, dict[str, float] | None] = {}
    for key in COMPARED:
        values = [r[key] for r in pair_ratios if r.get(key) is not None]
        numbers = [float(v) for v in values if v is not None]
        out[key] = ({"min": min(numbers), "median": round(statistics.median(numbers), 2), "max": max(numbers)}
                    if numbers else None)
    return out


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
