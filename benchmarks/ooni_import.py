#!/usr/bin/env python3
"""Memory and speed of `probe import ooni` on a large OONI JSONL file (default 1 GiB), made on the fly.

Writes a JSONL file of the given size into a temporary folder (copies of a real OONI web_connectivity
measurement from tests/data/ooni-measurements, each with its own measurement_uid and a padded body,
like the archive's cans), imports it into a fresh store with the same code as the command, and prints
the file size, measurements imported, seconds, measurements per second, and the peak RSS of the
process (which must stay flat as the file grows: the import streams). No network.

    .venv/bin/python benchmarks/ooni_import.py                 # 1 GiB
    .venv/bin/python benchmarks/ooni_import.py --size-mb 100 --body-kb 20
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from probe.classify import build_context, load_fingerprints
from probe.ooni.importer import import_ooni
from probe.store.third_party import ThirdPartyStore

TEMPLATE = (Path(__file__).resolve().parents[1] / "tests" / "data" / "ooni-measurements" / "real"
            / "VE_AS21980_noticiasvenezuela_http-blockpage-fortiguard_2023.json")


def make_file(path: Path, *, size: int, body_kb: int) -> int:
    raw = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    body = raw["test_keys"]["requests"][0]["response"]["body"]
    raw["test_keys"]["requests"][0]["response"]["body"] = body + "<!-- " + "x" * (body_kb << 10) + " -->"
    count = written = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < size:
            line = json.dumps({**raw, "measurement_uid": f"20230405200623.650905_VE_webconnectivity_{count:016x}"})
            out.write(line + "\n")
            written += len(line) + 1
            count += 1
    return count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--body-kb", type=int, default=100, help="padding added to each measurement's body")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="probe-ooni-bench-") as tmp:
        path = Path(tmp) / "big.jsonl"
        made = make_file(path, size=args.size_mb << 20, body_kb=args.body_kb)
        size = path.stat().st_size
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
        context = build_context(fingerprints=load_fingerprints(None))
        start = time.perf_counter()
        with ThirdPartyStore.open(Path(tmp) / "s.sqlite") as store:
            summary = import_ooni([path], store=store, context=context)
        seconds = time.perf_counter() - start
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
    print(f"file                 {size / (1 << 20):.0f} MiB, {made} measurements")
    print(f"imported             {summary.imported} ({len(summary.problems)} unreadable)")
    print(f"time                 {seconds:.1f} s, {summary.imported / seconds:.0f} measurements/s, "
          f"{size / (1 << 20) / seconds:.1f} MiB/s")
    print(f"peak RSS             {rss} MiB (before importing: {rss_before} MiB)")
    return 0 if summary.imported == made else 1


if __name__ == "__main__":
    sys.exit(main())
