"""Hub ingest benchmark: N simulated probes upload signed measurements to a real hub on PostgreSQL.

It starts its own PostgreSQL (probe.hub.tempdb) and a hub (`probe hub serve`, uvicorn, `--workers`
processes), enrols every probe with a one-time token over HTTP, and makes each probe's chain of real
measurement records (the sample scenarios with fresh ids and times), signed with its own Ed25519 key.
Making and signing happen before the clock starts. Then all probes upload at once, in batches, as
`probe upload` does (503 + Retry-After honoured), and the hub checks every signature, hash and chain
link and the record's schema before storing it. Figures printed, never asserted:

    measurements        stored on the hub (counted in PostgreSQL afterwards)
    ingest_per_s        measurements / wall seconds from the first upload to the last answer
    latest_query_ms     median of 20 runs of the page's "latest verdict per site × network" query
    ingest_cpu_us_per_measurement   CPU of the hub's workers and PostgreSQL per measurement (from
                        /proc): on a shared machine the wall-clock rate says more about the neighbours
    export_s            `probe hub export` of the newest --export measurements into one bundle
    export_peak_rss_mb  that export process's peak RSS (kernel rusage)

    python benchmarks/hub.py --json                 # 50 probes, 200,000 measurements
    python benchmarks/hub.py --probes 5 --measurements 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # evidence_samples: synthetic measurements, test data

from evidence_samples import sample_set  # noqa: E402

from probe.evidence.keys import fingerprint, public_key_pem  # noqa: E402
from probe.hub.enrol import create_invite  # noqa: E402
from probe.hub.page import read_latest  # noqa: E402
from probe.hub.schema import migrate  # noqa: E402
from probe.hub.tempdb import TempPostgres  # noqa: E402
from probe.models.canonical import GENESIS_HASH, canonical_json, chain_hash, sha256_hex  # noqa: E402

ID_SLOT = "00000000-0000-4000-8000-000000000000"
TIME_SLOT = "2000-01-01T00:00:00.000000Z"
SITE_SLOT = "siteslot"
SITES = 100  # × the 6 sample hosts = 600 sites; × 10 networks = the "latest" table


def templates() -> list[tuple[str, str]]:
    """Canonical record texts with fixed-width slots for id, time and host (kept canonical by swapping)."""
    out = []
    for m, _, verdict in sample_set(1):
        data = m.model_dump(mode="json")
        data["measurement_id"], data["test_start_time"] = ID_SLOT, TIME_SLOT
        data["input"] = data["input"].replace("://", "://" + SITE_SLOT + ".", 1)
        out.append((canonical_json(data).decode("utf-8"), verdict.label))
    return out


def make_probe(args: tuple[int, int, str]) -> tuple[str, str, list[Path]]:
    """One probe's key and chain, written as upload bodies of `batch` links; returns (fp, pem, files)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    index, count, folder = args
    batch = 500
    key = Ed25519PrivateKey.generate()
    fp = fingerprint(key.public_key())
    temps = templates()
    asn = f"AS{64500 + index % 10}"  # 10 networks
    start = datetime(2026, 9, 1, tzinfo=UTC)
    prev, files, links = GENESIS_HASH, [], []
    for seq in range(1, count + 1):
        text, label = temps[seq % len(temps)]
        when = (start + timedelta(seconds=seq * 60 + index)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        site = f"s{(seq * 7 + index) % SITES:03d}"
        record = (text.replace(ID_SLOT, str(uuid.uuid4()), 1).replace(TIME_SLOT, when, 1)
                  .replace('"probe_asn":"AS9198"', f'"probe_asn":"{asn}"', 1)
                  .replace(SITE_SLOT, site, 1))
        rec = sha256_hex(record.encode("utf-8"))
        link = chain_hash(prev, rec)
        links.append({"seq": seq, "kind": "measurement", "record": record, "record_sha256": rec, "prev_hash": prev,
                      "chain_hash": link, "signature": key.sign(link.encode("ascii")).hex(), "key_fingerprint": fp,
                      "label": label})
        prev = link
        if len(links) == batch or seq == count:
            path = Path(folder) / f"{index:03d}-{seq:07d}.json"
            path.write_text(json.dumps({"links": links}), encoding="utf-8")
            files.append(path)
            links = []
    return fp, public_key_pem(key.public_key()).decode("ascii"), files


async def enrol(url: str, database: str, pems: list[str]) -> None:
    async with httpx.AsyncClient(timeout=60) as client:
        for i, pem in enumerate(pems):
            with psycopg.connect(database, autocommit=True) as conn:
                token = create_invite(conn, name=f"probe {i}")
            answer = await client.post(url + "/api/v1/join", json={"token": token, "public_key_pem": pem})
            answer.raise_for_status()


async def upload(url: str, probes: list[list[Path]]) -> int:
    busy = 0
    limits = httpx.Limits(max_connections=len(probes), max_keepalive_connections=len(probes))
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        async def one(files: list[Path]) -> None:
            nonlocal busy
            for path in files:
                body = path.read_bytes()
                while True:
                    answer = await client.post(url + "/api/v1/links", content=body,
                                               headers={"content-type": "application/json"})
                    if answer.status_code != 503:
                        break
                    busy += 1
                    await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
                if answer.status_code != 200:
                    raise SystemExit(f"upload refused: {answer.status_code} {answer.text[:200]}")
        await asyncio.gather(*(one(files) for files in probes))
    return busy


def start_hub(database: str, port: int, workers: int, folder: Path) -> subprocess.Popen[bytes]:
    config = folder / "hub.toml"
    config.write_text(f'[hub]\ndatabase = "{database}"\nlisten = "127.0.0.1:{port}"\nworkers = {workers}\n'
                      'max_concurrency = 64\npool_size = 8\nretry_after = 1\n')
    hub = subprocess.Popen([sys.executable, "-m", "probe", "hub", "serve", "--config", str(config)],
                           stdout=subprocess.DEVNULL, stderr=(folder / "hub.log").open("wb"), cwd=ROOT,
                           start_new_session=True)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return hub
        except httpx.HTTPError:
            time.sleep(0.1)
    hub.terminate()
    hub.wait(30)
    raise SystemExit("the hub did not start: " + (folder / "hub.log").read_text())


# The export's own peak: VmHWM of its own address space (getrusage's ru_maxrss would carry over the
# benchmark's own peak, which Linux keeps across fork and exec).
EXPORT = """
import sys
from probe.cli.main import cli
try:
    cli.main(args=sys.argv[1:], standalone_mode=False)
finally:
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
    print(hwm, file=sys.stderr)
"""


def export_figures(database: str, folder: Path, count: int) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, the export process's own) of `probe hub export` of `count` measurements."""
    out = folder / "bundle.zip"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", EXPORT, "hub", "export", "--database", database, "--limit",
                           str(count), "--out", str(out)], capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit("export failed: " + done.stderr)
    return wall, int(done.stderr.strip().splitlines()[-1]) / 1024


def cpu_seconds(*pgids: int) -> float:
    """CPU (user + system) of every live process in these process groups: the hub's workers, PostgreSQL."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in pgids:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=50)
    parser.add_argument("--measurements", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="hub processes")
    parser.add_argument("--export", type=int, default=100_000, help="measurements in the export (0: skip)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    per_probe = args.measurements // args.probes
    pg = TempPostgres().start()
    hub = None
    try:
        database = pg.create_database("bench")
        with psycopg.connect(database, autocommit=True) as conn:
            migrate(conn)
        folder = Path(tempfile.mkdtemp(prefix="probe-hub-bench-"))
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            made = list(pool.map(make_probe, [(i, per_probe, str(folder)) for i in range(args.probes)]))
        port = 18480 + os.getpid() % 1000
        hub = start_hub(database, port, args.workers, folder)
        url = f"http://127.0.0.1:{port}"
        asyncio.run(enrol(url, database, [pem for _, pem, _ in made]))
        pg_group = os.getpgid(int((pg.data / "postmaster.pid").read_text().split()[0]))
        cpu_before = cpu_seconds(hub.pid, pg_group)
        started = time.perf_counter()
        busy = asyncio.run(upload(url, [files for _, _, files in made]))
        wall = time.perf_counter() - started
        cpu = cpu_seconds(hub.pid, pg_group) - cpu_before
        with psycopg.connect(database, autocommit=True) as conn:
            stored = int(conn.execute("SELECT count(*) FROM links").fetchone()[0])  # type: ignore[index]
            conn.execute("ANALYZE")
            times = []
            for _ in range(20):
                t0 = time.perf_counter()
                rows = read_latest(conn)
                times.append((time.perf_counter() - t0) * 1000)
        export_s, export_rss = export_figures(database, folder, args.export) if args.export else (0.0, 0.0)
        figures = {"measurements": stored, "probes": args.probes, "hub_workers": args.workers,
                   "ingest_s": round(wall, 2), "ingest_per_s": round(stored / wall, 1), "busy_answers": busy,
                   # CPU the hub and PostgreSQL spent per measurement, and the rate 2 idle cores would give
                   "ingest_cpu_us_per_measurement": round(cpu / stored * 1e6, 1),
                   "ingest_per_s_on_2_idle_cores": round(2 * stored / cpu, 1) if cpu else None,
                   "latest_rows": len(rows), "latest_query_ms": round(statistics.median(times), 2),
                   "export_measurements": min(args.export, stored), "export_s": round(export_s, 2),
                   "export_peak_rss_mb": round(export_rss, 1), "cpus": os.cpu_count(),
                   "load_avg_1m": round(os.getloadavg()[0], 1)}
    finally:
        if hub is not None:
            hub.terminate()
            hub.wait(30)
        pg.stop()
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        for key, value in figures.items():
            print(f"{key:>20}: {value}")


if __name__ == "__main__":
    main()
