#!/usr/bin/env python3
"""Where `probe run` spends its CPU: the throughput benchmark's lab run under cProfile (root).

The same lab as benchmarks/throughput.py (Citizen Lab URLs, 40 ms RTT, 10 % of hosts censored), a
smaller list by default. The probe runs unchanged in the client namespace, as
`python -m cProfile -o FILE -m probe run …`; this prints the functions with the most own CPU time
and the cumulative time of the probe's main stages, so a change's effect can be named by stage.

    sudo .venv/bin/python benchmarks/profile_run.py --urls 500
    sudo .venv/bin/python benchmarks/profile_run.py --urls 500 --keep /tmp/run.prof   # for snakeviz etc.
"""

from __future__ import annotations

import argparse
import io
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _labrun import DEFAULT_TIMEOUTS, citizenlab_urls, probe_flags, write_list  # noqa: E402
from throughput import _censors  # noqa: E402

from probe.lab.lab import Lab  # noqa: E402
from probe.lab.scenario import Network  # noqa: E402

# Stages named by the function that enters them (module path fragment, function name). A stage's
# cumulative time holds what runs in its own task only: work it hands to another task is not in it
# (until the steps timed out with asyncio.timeout, not wait_for, the HTTP exchange and the control's
# POST ran in a wait_for task, so their stages showed a fraction of their cost).
STAGES = {
    "measure one URL (all steps)": ("probe/measure/url.py", "measure_url"),
    "classify": ("probe/classify/verdict.py", "classify"),
    "store: append": ("probe/store/store.py", "append"),
    "canonical JSON": ("probe/models/canonical.py", "canonical_json"),
    "scrub own addresses": ("probe/measure/privacy.py", "scrub_dumped"),  # what the runner calls
    "TLS handshake step": ("probe/net/tls.py", "tls_handshake"),
    "HTTP step": ("probe/net/http.py", "http_get"),
    "DNS steps": ("probe/measure/resolve.py", "resolve_host"),
    "control client": ("probe/control/client/api.py", "query"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--urls", type=int, default=500)
    ap.add_argument("--parallel", type=int, default=64)
    ap.add_argument("--rtt-ms", type=int, default=40)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--prefix", default="bprof")
    ap.add_argument("--keep", type=Path, help="Also keep the raw profile here.")
    args = ap.parse_args()
    urls = citizenlab_urls()[: args.urls]
    censors, _ = _censors(urls, 0.10, random.Random(15))
    hosts = sorted({urlsplit(u).hostname or "" for u in urls} - {""})
    lab = Lab(prefix=args.prefix)
    with tempfile.TemporaryDirectory(prefix="probe-profile-") as tmp:
        folder = Path(tmp)
        prof = folder / "run.prof"
        try:
            lab.up(bulk_hosts=hosts, extra_censors=censors, network=Network(rtt_ms=args.rtt_ms))
            argv = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "probe", "run",
                    *probe_flags(lab, timeouts=DEFAULT_TIMEOUTS), "--list", str(write_list(urls, folder)),
                    "--parallel", str(args.parallel), "--store", str(folder / "p.sqlite"), "--no-progress"]
            t0 = time.perf_counter()
            proc = lab.client_exec(argv, timeout=1800)
            wall = time.perf_counter() - t0
        finally:
            lab.down()
        if proc.returncode != 0 or not prof.exists():
            sys.stderr.write(proc.stderr[-2000:])
            return 1
        if args.keep:
            shutil.copy(prof, args.keep)
        out = io.StringIO()
        stats = pstats.Stats(str(prof), stream=out)
        stats.sort_stats("tottime").print_stats(args.top)
    raw = stats.stats  # type: ignore[attr-defined]  # {(file, line, function): (cc, nc, tottime, cumtime, callers)}
    total = sum(v[2] for v in raw.values())
    print(f"{len(urls)} URLs in {wall:.1f} s wall (under cProfile, which slows Python code ~2x); "
          f"profiled CPU {total:.1f} s = {1000 * total / len(urls):.1f} ms a URL\n")
    print("stage (cumulative, overlapping)      seconds   ms/URL")
    for label, (path, name) in STAGES.items():
        cum = sum(v[3] for (f, _, fn), v in raw.items() if f.endswith(path) and fn == name)
        print(f"  {label:34} {cum:8.2f} {1000 * cum / len(urls):8.2f}")
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
