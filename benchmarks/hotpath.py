#!/usr/bin/env python3
"""CPU per measurement of what `probe run` does after measuring: scrub, classify, store append.

No network: the stored lab measurements of tests/unit/golden (with their bodies) go through the same
calls the runner makes (`scrub_dumped` with the probe's own addresses, the run's classifier,
`Store.append` with a signer and the scrubber's dump into a fresh SQLite store, batched as a run
batches its commits; --commit-interval 0 commits each alone), --rounds times over.
Prints CPU milliseconds per measurement by stage (process time, so a loaded machine changes it less
than wall time), for comparing a change.

    .venv/bin/python benchmarks/hotpath.py
    .venv/bin/python benchmarks/hotpath.py --rounds 20 --json
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import time
from pathlib import Path

from probe.classify import build_context, classify, load_fingerprints
from probe.evidence.keys import generate_key, load_signer
from probe.measure.privacy import scrub_dumped
from probe.measure.runner import COMMIT_INTERVAL_S
from probe.models import Artifact, Measurement
from probe.store import Store

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "unit" / "golden"
OWN = {"192.0.2.2", "2001:db8:77::2"}


def _cases() -> list[tuple[Measurement, list[Artifact]]]:
    out = []
    for path in sorted(GOLDEN.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        measurement = Measurement.model_validate(case["measurement"])
        artifacts = [Artifact.of("http_body", base64.b64decode(text)) for text in case["bodies"].values()]
        out.append((measurement, artifacts))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--commit-interval", type=float, default=COMMIT_INTERVAL_S,
                        help="seconds appends share a transaction (0: each commits alone)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cases = _cases()
    ctx = build_context(fingerprints=load_fingerprints(None))
    spent = {"scrub": 0.0, "classify": 0.0, "append": 0.0}
    n = 0
    with tempfile.TemporaryDirectory(prefix="probe-hotpath-") as tmp:
        generate_key(Path(tmp) / "key")
        signer = load_signer(Path(tmp) / "key")
        with Store.open(Path(tmp) / "p.sqlite") as store:
            store.batch.interval_s = args.commit_interval
            for round_no in range(args.rounds):
                for measurement, artifacts in cases:
                    m = measurement.model_copy(update={"measurement_id": f"{measurement.measurement_id}-{round_no}"})
                    t0 = time.process_time()
                    m, arts, dumped = scrub_dumped(m, artifacts, OWN)
                    t1 = time.process_time()
                    verdict = classify(m, bodies={a.sha256: a.data for a in arts}, context=ctx)
                    t2 = time.process_time()
                    store.append(m, arts, verdict, run_id="bench", signer=signer, dumped=dumped)
                    t3 = time.process_time()
                    spent["scrub"] += t1 - t0
                    spent["classify"] += t2 - t1
                    spent["append"] += t3 - t2
                    n += 1
    figures = {f"{k}_ms": round(1000 * v / n, 3) for k, v in spent.items()}
    figures["total_ms"] = round(sum(figures.values()), 3)
    if args.json:
        print(json.dumps({"measurements": n, **figures}))
        return
    print(f"{n} measurements ({len(cases)} golden cases x {args.rounds}); CPU ms per measurement:")
    for key, value in figures.items():
        print(f"  {key:<12} {value:8.3f}")


if __name__ == "__main__":
    main()
