#!/usr/bin/env python3
"""Capacity of the control helper against the lab's sites (root): answers/s, latency, CPU per answer.

Builds the lab with N hosts of the Citizen Lab global + kz lists (default 400) and, from the lab's
client namespace (the probe's place), asks the lab's helper `POST /api/v1/control` for those URLs
with K questions in flight (64, then 256, as a probe at --parallel 64 has up to 4× that waiting for
their control). Each of the K askers keeps one HTTPS keep-alive connection of its own (a small h11
loop, the same whatever server or client the probe has), so the figures are the helper's. Per K it
prints answers per second, p50/p95 latency of an answer, 503s and errors, and the helper's CPU per
answer read from the kernel (/proc of the helper's process), besides the askers' own CPU.

    sudo .venv/bin/python benchmarks/control.py
    sudo .venv/bin/python benchmarks/control.py --urls 200 --requests 800 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import h11

sys.path.insert(0, str(Path(__file__).resolve().parent))


# -- the askers: run inside the lab's client namespace (--ask), print one JSON line ------------------

async def _ask_loop(host: str, port: int, ctx: ssl.SSLContext, bodies: list[bytes], next_index: list[int],
                    latencies: list[float], counts: dict[str, int]) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    conn = h11.Connection(h11.CLIENT)
    while next_index[0] < len(bodies):
        body = bodies[next_index[0]]
        next_index[0] += 1
        start = time.perf_counter()
        try:
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=host)
                conn = h11.Connection(h11.CLIENT)
            status = await asyncio.wait_for(_exchange(conn, reader, writer, host, body), 60)
        except Exception as exc:  # noqa: BLE001 - counted, the run goes on
            counts[f"error:{type(exc).__name__}"] = counts.get(f"error:{type(exc).__name__}", 0) + 1
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        counts[str(status)] = counts.get(str(status), 0) + 1
        if status == 200:
            latencies.append(time.perf_counter() - start)
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            assert writer is not None
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _exchange(conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    host: str, body: bytes) -> int:
    headers = [("Host", host), ("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    writer.write(conn.send(h11.Request(method="POST", target="/api/v1/control", headers=headers)))
    writer.write(conn.send(h11.Data(data=body)))
    writer.write(conn.send(h11.EndOfMessage()))
    await writer.drain()
    status = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            if not data and status == 0:
                raise EOFError("closed before answering")
            conn.receive_data(data)
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return status


async def _ask_all(url: str, ca: str, urls: list[str], inflight: int, requests: int) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    ctx = ssl.create_default_context(cafile=ca)
    bodies = [json.dumps({"url": urls[i % len(urls)], "addresses": []}).encode() for i in range(requests)]
    latencies: list[float] = []
    counts: dict[str, int] = {}
    next_index = [0]
    start = time.perf_counter()
    await asyncio.gather(*(_ask_loop(host, port, ctx, bodies, next_index, latencies, counts)
                           for _ in range(inflight)))
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall_s": wall, "latencies": latencies, "counts": counts,
            "asker_cpu_s": usage.ru_utime + usage.ru_stime}


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- the driver: builds the lab, runs the askers, reads the helper's CPU -----------------------------

def _helper_cpu(lab: object) -> float:
    from _labrun import lab_process_cpu

    return lab_process_cpu(lab).get("control", 0.0)  # type: ignore[arg-type]


def _one_level(lab: object, urls_file: Path, inflight: int, requests: int) -> dict[str, object]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--ask", "--inflight", str(inflight),
            "--requests", str(requests), "--urls-file", str(urls_file),
            "--control-url", lab.control_url, "--ca", str(lab.ca_path)]  # type: ignore[attr-defined]
    cpu0 = _helper_cpu(lab)
    proc = lab.client_popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # type: ignore[attr-defined]
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    out, err = proc.communicate()
    cpu1 = _helper_cpu(lab)
    if proc.returncode != 0:
        raise RuntimeError(f"askers failed: {err[-1500:]}")
    raw = json.loads(out.strip().splitlines()[-1])
    latencies: list[float] = raw["latencies"]
    answers = len(latencies)
    return {
        "inflight": inflight, "requests": requests, "answers": answers,
        "answers_per_s": round(answers / raw["wall_s"], 1),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(_percentile(latencies, 0.95) * 1000, 1),
        "helper_cpu_s": round(cpu1 - cpu0, 2),
        "helper_cpu_ms_per_answer": round((cpu1 - cpu0) * 1000 / max(answers, 1), 2),
        "asker_cpu_s": round(raw["asker_cpu_s"], 2), "statuses": raw["counts"],
        "wall_s": round(raw["wall_s"], 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--urls", type=int, default=400, help="distinct URLs (and lab hosts) asked about")
    ap.add_argument("--requests", type=int, default=1500, help="questions per level")
    ap.add_argument("--inflight", type=int, action="append", help="questions in flight (repeat; default 64, 256)")
    ap.add_argument("--rtt-ms", type=int, default=0)
    ap.add_argument("--prefix", default="cbench")
    ap.add_argument("--json", action="store_true")
    # The askers' mode (run by the driver inside the client namespace).
    ap.add_argument("--ask", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--urls-file", help=argparse.SUPPRESS)
    ap.add_argument("--control-url", help=argparse.SUPPRESS)
    ap.add_argument("--ca", help=argparse.SUPPRESS)
    args = ap.parse_args()
    levels = args.inflight or [64, 256]
    if args.ask:
        urls = Path(args.urls_file).read_text(encoding="utf-8").split()
        result = asyncio.run(_ask_all(args.control_url, args.ca, urls, levels[0], args.requests))
        print(json.dumps(result))
        return 0

    import tempfile

    from _labrun import citizenlab_urls

    from probe.errors import ProbeError
    from probe.lab.lab import Lab
    from probe.lab.scenario import Network

    urls = citizenlab_urls()[: args.urls]
    hosts = sorted({urlsplit(u).hostname or "" for u in urls} - {""})
    lab = Lab(prefix=args.prefix)
    rows: list[dict[str, object]] = []
    try:
        lab.up(bulk_hosts=hosts, network=Network(rtt_ms=args.rtt_ms))
        with tempfile.TemporaryDirectory(prefix="probe-cbench-") as tmp:
            urls_file = Path(tmp) / "urls.txt"
            urls_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
            os.chmod(tmp, 0o755)
            _one_level(lab, urls_file, 16, min(200, args.requests))  # warm the resolver's cache and the helper
            rows.extend(_one_level(lab, urls_file, k, args.requests) for k in levels)
    except (ProbeError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        lab.down()
    if args.json:
        print(json.dumps({"urls": len(urls), "levels": rows}))
    else:
        for row in rows:
            print("  ".join(f"{k}={v}" for k, v in row.items()))
    return 0 if all(r["answers"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
