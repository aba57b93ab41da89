#!/usr/bin/env python3
"""Accuracy of the verdicts on the lab's scenarios, where the truth is known (root).

Runs every shipped scenario (or the files/folders given) in a clean lab, then prints the confusion
matrix over verdict labels, accuracy, the false-blocked rate on scenarios that are not censorship
(down sites, CDNs, CAPTCHAs, the site's own bad certificates, …) and the missed-censorship rate.
`--json` prints one line for machines.

    sudo .venv/bin/python benchmarks/accuracy.py
    sudo .venv/bin/python benchmarks/accuracy.py tests/lab/scenarios/tls_sni_drop.toml --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from probe.errors import ProbeError
from probe.lab.lab import Lab
from probe.lab.runner import ScenarioResult, run_all
from probe.lab.scenario import default_scenario_dir, load_scenarios
from probe.models.verdict import is_blocked_label


def figures(results: list[ScenarioResult]) -> dict[str, object]:
    censorship = [r for r in results if is_blocked_label(r.expected)]
    not_censorship = [r for r in results if not is_blocked_label(r.expected)]
    false_blocked = [r.name for r in not_censorship if r.got and is_blocked_label(r.got)]
    missed = [r.name for r in censorship if not (r.got and is_blocked_label(r.got))]
    confusion = Counter((r.expected, r.got or "(error)") for r in results)
    return {
        "scenarios": len(results),
        "correct": sum(r.ok for r in results),
        "accuracy": round(sum(r.ok for r in results) / max(len(results), 1), 4),
        "censorship_scenarios": len(censorship),
        "not_censorship_scenarios": len(not_censorship),
        "false_blocked_rate": round(len(false_blocked) / max(len(not_censorship), 1), 4),
        "missed_censorship_rate": round(len(missed) / max(len(censorship), 1), 4),
        "false_blocked": false_blocked,
        "missed_censorship": missed,
        "wrong": [{"name": r.name, "expected": r.expected, "got": r.got} for r in results if not r.ok],
        "confusion": [{"expected": e, "got": g, "n": n} for (e, g), n in sorted(confusion.items())],
    }


def print_table(fig: dict[str, object]) -> None:
    confusion = fig["confusion"]
    assert isinstance(confusion, list)
    labels = sorted({c["expected"] for c in confusion} | {c["got"] for c in confusion})
    cell = {(c["expected"], c["got"]): c["n"] for c in confusion}
    width = max(len(label) for label in labels) + 1
    print("confusion matrix (rows: expected, columns: got; only labels that occur)")
    print(" " * width + " ".join(f"{i:>3}" for i in range(len(labels))))
    for i, row in enumerate(labels):
        counts = " ".join(f"{cell.get((row, col), 0) or '.':>3}" for col in labels)
        print(f"{row:<{width}}{counts}   [{i}]")
    for key in ("scenarios", "correct", "accuracy", "false_blocked_rate", "missed_censorship_rate",
                "false_blocked", "missed_censorship", "wrong"):
        print(f"{key:24} {fig[key]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", type=Path, help="scenario files or folders (default: the shipped set)")
    ap.add_argument("--parallel", type=int, default=3, help="labs at once")
    ap.add_argument("--prefix", default="acc")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        scenarios = load_scenarios(args.paths or [default_scenario_dir()])
        with tempfile.TemporaryDirectory(prefix="probe-accuracy-") as tmp:
            results = run_all(scenarios, lab=Lab(prefix=args.prefix), store=Path(tmp) / "acc.sqlite",
                              parallel=args.parallel)
    except ProbeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fig = figures(results)
    if args.json:
        print(json.dumps(fig))
    else:
        print_table(fig)
    return 0 if fig["correct"] == fig["scenarios"] else 1


if __name__ == "__main__":
    sys.exit(main())
