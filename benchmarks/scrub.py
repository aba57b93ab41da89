#!/usr/bin/env python3
"""Cost of scrubbing the volunteer's own addresses from one 512 KiB body, and of the export's leak check.

Every stored HTTP body goes through `probe.addresses.replace_bytes` with the own-address predicate
(the addresses this run learned, plus the keyed-hash memory of earlier ones), and every exported file
through `probe.evidence.privacy.scan_for_addresses`. This prints CPU milliseconds per body (best of
--repeat) for bodies of different make-up: an ordinary HTML page dense with numbers, dates, versions,
percent-escapes and foreign addresses; the same page in UTF-16-LE; and a hostile page made only of
digit-and-dot tokens. No network; pure CPU.

    .venv/bin/python benchmarks/scrub.py
    .venv/bin/python benchmarks/scrub.py --kib 512 --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable

from probe.addresses import IPAddress, parse, replace_bytes
from probe.evidence.privacy import scan_for_addresses
from probe.store.own_addresses import OwnAddressMemory

OWN = ("192.0.2.2", "2001:db8:77::2")


def _html(size: int, rng: random.Random) -> bytes:
    """A page the size of `size` bytes that looks like what origins send: prose, markup, numbers."""
    pieces = [
        "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.</p>\n",
        '<a href="/search?q=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82&page=2&id=1234567">next</a>\n',
        '<div class="col-md-4 px-2" style="color:#c0a0b0;width:12.5%">Price 12 345,67 KZT</div>\n',
        "<span>2026-12-03 18:33:53 UTC, version 1.2.3, build 20261203.1, id 98765432109</span>\n",
        '<script>var x = {"a": 1.5, "b": [1, 2, 3], "t": 1733250000, "u": "\\u0430\\u0431"};</script>\n',
        "<li>served by 198.51.100.23 via 203.0.113.9, node ip-10-1-2-3, upstream [2001:db8::1]:443</li>\n",
        "<img src=\"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\">\n",
        "<td>0x1f 0xdeadbeef 3.14159 42 &amp; &#169; &#x2014; &nbsp; 2.2.0.10.in-addr.arpa</td>\n",
    ]
    out: list[str] = []
    total = 0
    while total < size:
        piece = rng.choice(pieces)
        out.append(piece)
        total += len(piece)
    return "".join(out).encode()[:size]


def _numbers(size: int, rng: random.Random) -> bytes:
    """Hostile: nothing but dotted, dashed and long numbers, each a candidate for some spelling."""
    out: list[str] = []
    total = 0
    while total < size:
        a, b, c, d = (rng.randrange(256) for _ in range(4))
        piece = rng.choice([f"{a}.{b}.{c}.{d} ", f"{a}-{b}-{c}-{d} ", f"{rng.randrange(10**9, 4 * 10**9)} ",
                            f"{a:03}.{b:03}.{c:03}.{d:03} ", f"0x{rng.randrange(1 << 32):08x} "])
        out.append(piece)
        total += len(piece)
    return "".join(out).encode()[:size]


def _best_ms(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kib", type=int, default=512, help="body size in KiB (default 512)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the best is printed")
    parser.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    args = parser.parse_args()
    rng = random.Random(18)
    size = args.kib * 1024
    html = _html(size, rng)
    bodies = {"html": html, "html-utf16le": html.decode().encode("utf-16-le")[:size],
              "numbers": _numbers(size, rng)}
    memory = OwnAddressMemory.empty()
    memory.remember(["198.51.100.200", "2001:db8:99::9"])  # earlier runs' addresses, kept as keyed hashes
    known = {ip for ip in (parse(a) for a in OWN) if ip is not None}

    def wanted(ip: IPAddress) -> bool:
        return ip in known or memory.knows(ip)

    figures: dict[str, float] = {}
    for name, body in bodies.items():
        figures[f"scrub_{name}_ms"] = _best_ms(lambda b=body: replace_bytes(b, b"[scrubbed]", wanted), args.repeat)
        figures[f"leakcheck_{name}_ms"] = _best_ms(
            lambda b=body: scan_for_addresses(b, OWN, memory=memory), args.repeat)
    if args.json:
        print(json.dumps({"kib": args.kib, **{k: round(v, 2) for k, v in figures.items()}}))
        return
    print(f"body size {args.kib} KiB, best of {args.repeat}")
    for key, value in figures.items():
        print(f"  {key:<28} {value:9.1f} ms   {args.kib / 1024 / (value / 1000):7.1f} MiB/s")


if __name__ == "__main__":
    main()
