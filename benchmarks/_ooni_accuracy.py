"""The real-data section of benchmarks/accuracy.py: our verdicts on OONI's published measurements.

Imports every measurement in tests/data/ooni-measurements (OONI's 50 QA scenarios and 7 real
measurements; see its SOURCE.txt) into a temporary store with `probe import ooni`'s code, then
compares our verdict with OONI's own `blocking`/`accessible` (the QA scenarios' values are OONI's
expected ones, PEER-SCENARIOS.md). Needs no lab and no root. docs/verdicts.md explains each difference.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from probe.classify import build_context, load_fingerprints
from probe.models.verdict import is_blocked_label
from probe.ooni.importer import import_ooni
from probe.store.third_party import ThirdPartyStore

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "ooni-measurements"


def ooni_figures(data: Path = DEFAULT_DATA) -> dict[str, object]:
    files = sorted(data.glob("synthetic-qa/*/measurement.json")) + sorted(data.glob("real/*.json"))
    context = build_context(fingerprints=load_fingerprints(None))
    outcome: Counter[str] = Counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="probe-ooni-accuracy-") as tmp, \
            ThirdPartyStore.open(Path(tmp) / "ooni.sqlite") as store:
        summary = import_ooni(files, store=store, context=context)
        for row in store.entries():
            ooni_blocked = isinstance(row.source_blocking, str)
            ours_blocked = is_blocked_label(row.verdict.label)
            if row.verdict.blocking == row.source_blocking:
                kind = "same blocking value"
            elif ooni_blocked and ours_blocked:
                kind = "both blocked, other layer"
            elif not ooni_blocked and not ours_blocked:
                kind = "both not blocked"
            elif ours_blocked:
                kind = "we say blocked, OONI not"
            else:
                kind = "OONI says blocked, we not"
            outcome[kind] += 1
            folder, _, file = row.imported_from.partition("/")
            rows.append({"measurement": file if folder == "real" else folder, "ooni_blocking": row.source_blocking,
                         "ooni_accessible": row.source_accessible, "ours": row.verdict.label, "kind": kind})
    total = sum(outcome.values())
    return {
        "measurements": total, "imported": summary.imported, "unreadable": len(summary.problems),
        "same_blocking_rate": round(outcome["same blocking value"] / max(total, 1), 4),
        "same_blocked_or_not_rate": round((total - outcome["we say blocked, OONI not"]
                                           - outcome["OONI says blocked, we not"]) / max(total, 1), 4),
        "outcomes": dict(outcome),
        "differences": [r for r in rows if r["kind"] != "same blocking value"],
    }


def print_ooni(fig: dict[str, object]) -> None:
    print("\nreal data: OONI's published measurements, classified by our rules (docs/verdicts.md explains each)")
    for key in ("measurements", "imported", "unreadable", "same_blocking_rate", "same_blocked_or_not_rate",
                "outcomes"):
        print(f"{key:26} {fig[key]}")
    differences = fig["differences"]
    assert isinstance(differences, list)
    for d in differences:
        print(f"  {d['kind']:28} {d['measurement']:60} OONI {d['ooni_blocking']}/{d['ooni_accessible']} "
              f"ours {d['ours']}")
