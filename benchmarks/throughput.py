#!/usr/bin/env python3
"""Throughput, memory and CPU of `probe run` over a full list in the censorship lab (root).

N URLs of the Citizen Lab global + kz lists (default 2,000), served by the lab with 40 ms RTT, 10 % of
the hosts censored by timeouts (tls_sni_drop for https, ip_drop for http). Prints wall time, URLs/s,
peak RSS, CPU seconds and CPU milliseconds per URL (the probe process's own, from wait4: the figure
to quote on a shared machine, where wall time follows the load), the wall time in two (`last_start_s`,
when the list's last URL started: the probe's pace; `tail_s`, the rest: a censored host that started
late waits out its 10 s timeout however fast the probe is), and the speed-up against the same
run at --parallel 1 on a 50-URL sample extrapolated to N (OONI-style one-at-a-time measuring;
--sample 0 leaves it out). `--json` prints one line per list size for machines.
The probe runs at its production timeouts (DNS 4 s, TCP 10 s, TLS 10 s, HTTP 15 s: `Timeouts()`'s
defaults, printed as `timeouts_s`), as the lab's scenarios do, so a censored host costs what it costs
a volunteer.

    sudo .venv/bin/python benchmarks/throughput.py            # the full run
    sudo .venv/bin/python benchmarks/throughput.py --urls 300 --sample 20 --json
    sudo .venv/bin/python benchmarks/throughput.py --urls 500,2000,5000 --sample 0   # scaling: one set per size

A Raspberry Pi-sized run (one core): pin this script, and with it the lab and the probe it starts,
to one CPU and measure fewer at a time:

    sudo taskset -c 0 .venv/bin/python benchmarks/throughput.py --parallel 16 --sample 0

On a noisy machine, compare with other code by alternating runs (`_alternate.py`): this tree, then
TREE (a checkout, e.g. `git worktree add /tmp/old 9355a58`), --pairs times, each a fresh process
and lab running its own tree's script; prints every pair and the ratios (lowest, median, highest):

    sudo .venv/bin/python benchmarks/throughput.py --against /tmp/old --pairs 3
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _alternate  # noqa: E402
from _labrun import DEFAULT_TIMEOUTS, citizenlab_urls, lab_process_cpu, run_probe  # noqa: E402

from probe.errors import ProbeError  # noqa: E402
from probe.lab.lab import Lab  # noqa: E402
from probe.lab.scenario import Censor, Network  # noqa: E402


def _censors(urls: list[str], fraction: float, rng: random.Random) -> tuple[list[Censor], set[str]]:
    hosts = sorted({urlsplit(u).hostname or "" for u in urls} - {""})
    chosen = set(rng.sample(hosts, k=round(len(hosts) * fraction)))
    https_hosts = {urlsplit(u).hostname for u in urls if u.startswith("https:")}
    censors = [Censor(action="tls_sni_drop" if h in https_hosts else "ip_drop", match=h) for h in sorted(chosen)]
    return censors, chosen


def _sample(urls: list[str], censored: set[str], n: int, fraction: float, rng: random.Random) -> list[str]:
    """A sample with the same share of censored hosts as the full run, so the extrapolation is fair."""
    bad = [u for u in urls if urlsplit(u).hostname in censored]
    good = [u for u in urls if urlsplit(u).hostname not in censored]
    k_bad = round(n * fraction)
    return rng.sample(bad, min(k_bad, len(bad))) + rng.sample(good, min(n - k_bad, len(good)))


def _urls(size: int) -> list[str]:
    """The first `size` URLs of the lists; past their end (about 2,300) the same URLs again with a
    query (?copy=2, ...): distinct URLs on the same hosts, so the mix of hosts and censorship stays."""
    base = citizenlab_urls()
    urls = base[:size]
    copy = 2
    while len(urls) < size:
        urls += [f"{u}{'&' if '?' in u else '?'}copy={copy}" for u in base[:size - len(urls)]]
        copy += 1
    return urls


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--urls takes sizes like 500,2000,5000, not {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("--urls needs at least one size of 1 or more")
    return sizes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--urls", type=_sizes, default=[2000], help="list size, or sizes: 500,2000,5000")
    ap.add_argument("--parallel", type=int, default=64)
    ap.add_argument("--rtt-ms", type=int, default=40)
    ap.add_argument("--censored", type=float, default=0.10)
    ap.add_argument("--sample", type=int, default=50, help="URLs in the --parallel 1 baseline (0: none)")
    ap.add_argument("--nginx-workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--prefix", default="bench")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--against", type=Path, metavar="TREE", help="alternate runs with this checkout's code")
    ap.add_argument("--pairs", type=int, default=3, help="with --against: runs of each tree")
    args = ap.parse_args()
    if args.against is not None:
        return _compare(args, ap)
    ok = True
    for size in args.urls:
        figures = _measure(size, args)
        if figures is None:
            return 2
        ok = ok and figures["exit_code"] == 0 and figures["measured"] == figures["urls"]
        if args.json:
            print(json.dumps(figures), flush=True)
        else:
            for key, value in figures.items():
                print(f"{key:28} {value}")
            print(flush=True)
    return 0 if ok else 1


def _compare(args: argparse.Namespace, ap: argparse.ArgumentParser) -> int:
    """Alternating runs of this tree and `--against`, per list size: each pair, then the ratios."""
    problem = _alternate.check_tree(args.against)
    if problem is not None or args.pairs < 1:
        print(f"error: {problem or '--pairs needs 1 or more'}", file=sys.stderr)
        return 2
    # Only flags that differ from the defaults are passed on: an older script may not know them all.
    passed = [f"--{name.replace('_', '-')}={value}" for name, value in vars(args).items()
              if name in ("parallel", "rtt_ms", "censored", "nginx_workers", "seed", "prefix")
              and value != ap.get_default(name)]
    ours_tree = Path(__file__).resolve().parents[1]
    for size in args.urls:
        pairs: list[dict[str, object]] = []
        pair_ratios: list[dict[str, float | None]] = []
        for n in range(1, args.pairs + 1):
            runs: dict[str, dict[str, float]] = {}
            for side, tree in (("ours", ours_tree), ("theirs", args.against)):
                found = _alternate.run_once(tree, size, passed)
                if isinstance(found, str):
                    print(f"error: {found}", file=sys.stderr)
                    return 2
                runs[side] = _alternate.figures(found)
            pair_ratios.append(_alternate.ratios(runs["ours"], runs["theirs"]))
            pairs.append({**runs, "ratios": pair_ratios[-1]})
            if not args.json:
                print(f"{size} URLs, pair {n}: " + "; ".join(
                    f"{key} {runs['ours'][key]:.2f} against {runs['theirs'][key]:.2f}" for key in _alternate.COMPARED),
                    flush=True)
        ratios = _alternate.summary(pair_ratios)
        if args.json:
            print(json.dumps({"urls": size, "against": str(args.against), "pairs": pairs, "ratios": ratios}),
                  flush=True)
        else:
            for key, what in _alternate.COMPARED.items():
                r = ratios[key]
                shown = "no figure" if r is None else f"{r['min']}× / {r['median']}× / {r['max']}×"
                print(f"  {what:48} {shown}  (theirs ÷ ours: lowest / median / highest)")
            print(flush=True)
    return 0


def _measure(size: int, args: argparse.Namespace) -> dict[str, object] | None:
    rng = random.Random(args.seed)
    urls = _urls(size)
    censors, censored = _censors(urls, args.censored, rng)
    hosts = sorted({urlsplit(u).hostname or "" for u in urls} - {""})
    lab = Lab(prefix=args.prefix)
    try:
        lab.up(bulk_hosts=hosts, extra_censors=censors, network=Network(rtt_ms=args.rtt_ms),
               nginx_workers=args.nginx_workers)
        cpu0 = lab_process_cpu(lab)
        full = run_probe(lab, urls, parallel=args.parallel, timeouts=DEFAULT_TIMEOUTS)
        cpu1 = lab_process_cpu(lab)
        seq = None
        if args.sample > 0:
            seq = run_probe(lab, _sample(urls, censored, args.sample, args.censored, rng), parallel=1,
                            timeouts=DEFAULT_TIMEOUTS)
    except ProbeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    finally:
        lab.down()
    lab_cpu = {k: round(cpu1.get(k, 0) - cpu0.get(k, 0), 2) for k in cpu1}
    figures: dict[str, object] = {
        "urls": full.urls, "measured": full.measured, "censored_hosts": len(censored), "rtt_ms": args.rtt_ms,
        "parallel": args.parallel, "wall_s": round(full.wall_s, 2), "urls_per_s": round(full.urls / full.wall_s, 1),
        "peak_rss_mb": round(full.peak_rss_mb, 1), "cpu_s": round(full.cpu_s, 2),
        "cpu_ms_per_url": round(1000 * full.cpu_s / max(full.urls, 1), 2),
        # The helper is asked one control question per URL: this is its CPU per answer.
        "control_cpu_ms_per_url": round(1000 * lab_cpu.get("control", 0) / max(full.urls, 1), 2),
        "cpu_sys_s": round(full.sys_s, 2),  # kernel time: the lab's veths and netem run in the sender's context
        # The wall time in two: until the list's last URL started (the probe's pace), and the tail
        # after it (the slowest open measurements: a late censored host waits out its 10 s timeout).
        "last_start_s": round(full.last_start_s, 2), "tail_s": round(full.wall_s - full.last_start_s, 2),
    }
    if seq is not None:
        sequential_s = seq.wall_s / max(seq.urls, 1) * full.urls
        figures.update({"sequential_sample_urls": seq.urls, "sequential_sample_wall_s": round(seq.wall_s, 2),
                        "sequential_extrapolated_s": round(sequential_s, 1),
                        "speedup_vs_sequential": round(sequential_s / full.wall_s, 1)})
    figures.update({"lab_cpu_s": lab_cpu, "exit_code": full.exit_code,
                    "timeouts_s": DEFAULT_TIMEOUTS})  # the probe's production defaults, as the lab's scenarios use
    return figures


if __name__ == "__main__":
    sys.exit(main())
