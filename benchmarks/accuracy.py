#!/usr/bin/env python3
"""Accuracy of the verdicts on the lab's scenarios, where the truth is known (root).

Runs every shipped scenario (or the files/folders given) in a clean lab, then prints the confusion
matrix over verdict labels, accuracy, the false-blocked rate on scenarios that are not censorship
(down sites, CDNs, CAPTCHAs, the site's own bad certificates, a censor that blocks only the control
helper, …) and the missed-censorship rate. `--json` prints one line for machines.

Which scenarios are censorship comes from the scenario, not from its expected label: one is
censorship when a `[[censor]]` action targets a host the probe visits (the URL's host or its
redirect's, or a subdomain of the name matched), so throttling counts although `tls.throttled` is
not a "blocked" label. A miss is a verdict that says there is no censorship (`ok`, `down`,
`site.refused`) on such a scenario; a false-blocked is a verdict that claims censorship (any `dns.`,
`tcp.`, `tls.` or `http.` label, throttling included) on any other. An `inconclusive` verdict or a
failed run is neither, only wrong. The accounting (`censorship_scenarios`, `figures`) is pure.

A second section, on real data, needs no lab: our verdicts on OONI's published measurements
(tests/data/ooni-measurements) against OONI's own `blocking` (benchmarks/_ooni_accuracy.py).
`--ooni-only` prints just that section.

    sudo .venv/bin/python benchmarks/accuracy.py
    sudo .venv/bin/python benchmarks/accuracy.py tests/lab/scenarios/tls_sni_drop.toml --json
    .venv/bin/python benchmarks/accuracy.py --ooni-only
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from probe.errors import ProbeError
from probe.lab.lab import Lab
from probe.lab.runner import ScenarioResult, run_all
from probe.lab.scenario import Censor, Scenario, default_scenario_dir, load_scenarios, url_host
from probe.models.verdict import BLOCKED_PREFIXES

# Actions that interfere only with the probe's control helper, never with the measured site.
CONTROL_ONLY_ACTIONS = frozenset({"block_control"})
# Verdicts that say the site is not censored: on a censorship scenario, each is a miss.
NO_CENSORSHIP_LABELS = frozenset({"ok", "down", "site.refused"})


def censorship_scenarios(scenarios: Iterable[Scenario]) -> set[str]:
    """Names of the scenarios in which the censor interferes with the measured site."""
    return {s.name for s in scenarios if any(_targets_site(c, s) for c in s.censors())}


def _targets_site(censor: Censor, scenario: Scenario) -> bool:
    if censor.action in CONTROL_ONLY_ACTIONS:
        return False
    visited = {scenario.host} | ({url_host(scenario.origin.redirect_to)} if scenario.origin.redirect_to else set())
    return any(host == censor.match or host.endswith("." + censor.match) for host in visited)


def claims_censorship(label: str | None) -> bool:
    """The verdict says the site is censored (blocked, or throttled: `tls.throttled` is not 'blocked')."""
    return label is not None and label.startswith(BLOCKED_PREFIXES)


def figures(results: Sequence[ScenarioResult], *, censored: Collection[str]) -> dict[str, object]:
    """The figures over `results`; `censored` names the censorship scenarios (`censorship_scenarios`)."""
    censorship = [r for r in results if r.name in censored]
    not_censorship = [r for r in results if r.name not in censored]
    false_blocked = [r.name for r in not_censorship if claims_censorship(r.got)]
    missed = [r.name for r in censorship if r.got in NO_CENSORSHIP_LABELS]
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
    ap.add_argument("--ooni-only", action="store_true", help="only the real-data section (OONI's data; no lab)")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _ooni_accuracy import ooni_figures, print_ooni

    ooni = ooni_figures()
    if args.ooni_only:
        print(json.dumps(ooni)) if args.json else print_ooni(ooni)
        return 0
    try:
        scenarios = load_scenarios(args.paths or [default_scenario_dir()])
        with tempfile.TemporaryDirectory(prefix="probe-accuracy-") as tmp:
            results = run_all(scenarios, lab=Lab(prefix=args.prefix), store=Path(tmp) / "acc.sqlite",
                              parallel=args.parallel)
    except ProbeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fig = figures(results, censored=censorship_scenarios(scenarios))
    if args.json:
        print(json.dumps({**fig, "ooni_real_data": ooni}))
    else:
        print_table(fig)
        print_ooni(ooni)
    return 0 if fig["correct"] == fig["scenarios"] else 1


if __name__ == "__main__":
    sys.exit(main())
