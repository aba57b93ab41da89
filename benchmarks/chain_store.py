#!/usr/bin/env python3
"""What chaining verdicts costs: signed appends per second, and `verify --store` / export time.

Appends N synthetic measurements (evidence_samples, with artifacts) to a fresh store, each
with its verdict, signed: each append writes the measurement's link and its verdict's link (and the
first one a key record). Prints appends/s and CPU ms per append, then how long `verify_store` and an
export of everything take, and the store's links by kind. Nothing touches the network.

    .venv/bin/python benchmarks/chain_store.py
    .venv/bin/python benchmarks/chain_store.py -n 5000 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # evidence_samples: test data

from evidence_samples import sample_set  # noqa: E402

from probe.evidence.bundle.export import export_bundle  # noqa: E402
from probe.evidence.keys import generate_key, load_signer  # noqa: E402
from probe.evidence.verify.store import verify_store  # noqa: E402
from probe.store import EntryFilter, Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="measurements to append (rounded up to 6)")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="probe-bench-") as tmp:
        root = Path(tmp)
        key = generate_key(root / "k")
        signer = load_signer(root / "k")
        samples = sample_set(max(1, -(-args.n // 6)))
        with Store.open(root / "s.sqlite") as store:
            wall, cpu = time.perf_counter(), time.process_time()
            for m, a, v in samples:
                store.append(m, a, v, signer=signer)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            t0 = time.perf_counter()
            result = verify_store(store, public_key=key.public_key())
            verify_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            export_bundle(store, root / "b.zip", key=key, filt=EntryFilter())
            export_s = time.perf_counter() - t0
            kinds = Counter(link.kind for link in store.links())
    figures = {"measurements": len(samples), "appends_per_s": round(len(samples) / wall, 1),
               "cpu_ms_per_append": round(cpu * 1000 / len(samples), 3), "verify_store_s": round(verify_s, 2),
               "verify_ok": result.ok, "export_s": round(export_s, 2), "links": dict(kinds)}
    if args.json:
        print(json.dumps(figures, sort_keys=True))
        return
    for name, value in figures.items():
        print(f"{name:>20}: {value}")


if __name__ == "__main__":
    main()
