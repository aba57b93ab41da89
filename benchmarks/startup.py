#!/usr/bin/env python3
"""How long `probe --version`, `probe --help` and one command's `--help` take to start (seconds).

The `probe` group imports a command's module only when that command runs, so the first two should
import click alone. Prints the median of N runs of each, and the same for a bare `python -c pass`,
so a busy machine's noise can be read as a ratio. `--json` prints one line for machines.

    .venv/bin/python benchmarks/startup.py
    .venv/bin/python benchmarks/startup.py --runs 9 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROBE = [sys.executable, "-m", "probe"]
CASES = {
    "python_bare_s": [sys.executable, "-c", "pass"],
    "version_s": [*PROBE, "--version"],
    "help_s": [*PROBE, "--help"],
    "run_help_s": [*PROBE, "run", "--help"],
}


def _median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       cwd=Path(__file__).resolve().parents[1])
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = {name: round(_median_seconds(argv, args.runs), 3) for name, argv in CASES.items()}
    if args.json:
        print(json.dumps(figures))
        return
    bare = figures["python_bare_s"]
    for name, seconds in figures.items():
        print(f"{name[:-2]:>12}: {seconds:.3f} s  ({seconds / bare:.1f}x a bare python start)")


if __name__ == "__main__":
    main()
