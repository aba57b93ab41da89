#!/usr/bin/env python3
"""Flood the control helper on loopback and print its memory and how fast it recovers.

Starts `probe control serve` on 127.0.0.1 (a throwaway self-signed certificate), then, one after the
other (each bounded in count and time):

- silent: N TCP connections that never send a byte (default 15,000, spread over 128 source
  addresses 127.0.1.x, as a botnet would be), held for --hold seconds;
- idle_tls: M connections from one address that finish the TLS handshake and then send nothing
  (default 1,100), held the same way.

During each it samples the helper's RSS (/proc) and asks GET /api/v1/health from an address of its
own (127.0.2.1: a volunteer's probe); after it closes the flood it times how long until the helper
answers again and reads the RSS once more. Figures come from the kernel and the wall clock.
Loopback only; needs a high open-files limit (root raises it).

    .venv/bin/python benchmarks/control_flood.py
    .venv/bin/python benchmarks/control_flood.py --silent 5000 --idle-tls 500 --hold 12 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import re
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PROBE_SOURCE = "127.0.2.1"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flood helper")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "helper.pem", folder / "helper.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _rss_mb(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else float("nan")


def _client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # a benchmark against our own throwaway certificate
    return ctx


async def _health(port: int, timeout_s: float = 2.0) -> bool:
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=_client_context(),
                                                           local_addr=(PROBE_SOURCE, 0))
            writer.write(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            reply = await reader.read(64)
            writer.close()
            return reply.startswith(b"HTTP/1.1 200")
    except (OSError, TimeoutError, ssl.SSLError):
        return False


async def _open_silent(port: int, count: int, sources: int) -> list[socket.socket]:
    loop = asyncio.get_running_loop()
    socks: list[socket.socket] = []

    async def one(i: int) -> None:
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.bind((f"127.0.1.{1 + i % sources}", 0))
            await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), 5)
            socks.append(sock)
        except (OSError, TimeoutError):
            sock.close()

    for start in range(0, count, 500):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + 500))))
    return socks


async def _open_idle_tls(port: int, count: int) -> list[asyncio.StreamWriter]:
    writers: list[asyncio.StreamWriter] = []

    async def one() -> None:
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            _, writer = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", port, ssl=_client_context(), local_addr=("127.0.3.1", 0)), 10)
            writers.append(writer)

    for start in range(0, count, 200):
        await asyncio.gather(*(one() for _ in range(start, min(count, start + 200))))
    return writers


async def _hold(pid: int, port: int, hold_s: float) -> tuple[float, int, int]:
    """Peak RSS while the flood is held, and how many health asks (one every 0.5 s) were answered."""
    peak, answered, asked = _rss_mb(pid), 0, 0
    deadline = time.monotonic() + hold_s
    while time.monotonic() < deadline:
        asked += 1
        answered += await _health(port, 0.5)
        peak = max(peak, _rss_mb(pid))
        await asyncio.sleep(0.5)
    return peak, answered, asked


async def _recovery(pid: int, port: int) -> dict[str, float]:
    closed = time.monotonic()
    while not await _health(port, 1.0):
        if time.monotonic() - closed > 60:
            break
    recovered = time.monotonic() - closed
    await asyncio.sleep(2)
    return {"recovered_s": round(recovered, 2), "rss_after_mb": round(_rss_mb(pid), 1)}


async def _flood(pid: int, port: int, args: argparse.Namespace) -> dict[str, object]:
    out: dict[str, object] = {"rss_start_mb": round(_rss_mb(pid), 1)}
    started = time.monotonic()
    socks = await _open_silent(port, args.silent, args.sources)
    peak, answered, asked = await _hold(pid, port, args.hold)
    for sock in socks:
        sock.close()
    out["silent"] = {"connections": args.silent, "opened": len(socks), "open_s": round(time.monotonic() - started
                                                                                     - args.hold, 1),
                     "peak_rss_mb": round(peak, 1), "health_answered": f"{answered}/{asked}",
                     **await _recovery(pid, port)}
    writers = await _open_idle_tls(port, args.idle_tls)
    peak, answered, asked = await _hold(pid, port, args.hold)
    for writer in writers:
        writer.transport.abort()
    out["idle_tls"] = {"connections": args.idle_tls, "handshaken": len(writers), "peak_rss_mb": round(peak, 1),
                       "health_answered": f"{answered}/{asked}", **await _recovery(pid, port)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--silent", type=int, default=15_000, help="silent TCP connections (at most 30,000)")
    ap.add_argument("--sources", type=int, default=128, help="source addresses they come from (1-250)")
    ap.add_argument("--idle-tls", type=int, default=1_100, help="idle TLS connections from one address")
    ap.add_argument("--hold", type=float, default=15.0, help="seconds each flood is held (at most 60)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    args.silent, args.hold = min(args.silent, 30_000), min(args.hold, 60.0)
    args.sources = max(1, min(args.sources, 250))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    with socket.socket() as probe_port:
        probe_port.bind(("127.0.0.1", 0))
        port = probe_port.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="probe-flood-") as tmp:
        cert, key = _self_signed(Path(tmp))
        helper = subprocess.Popen([sys.executable, "-m", "probe", "control", "serve", "--listen", f"127.0.0.1:{port}",
                                   "--cert", str(cert), "--key", str(key)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        try:
            deadline = time.monotonic() + 20
            while not asyncio.run(_health(port, 1.0)):
                if time.monotonic() > deadline or helper.poll() is not None:
                    print("error: the helper did not start", file=sys.stderr)
                    return 2
                time.sleep(0.2)
            figures = asyncio.run(_flood(helper.pid, port, args))
        finally:
            helper.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                helper.wait(10)
            if helper.poll() is None:
                helper.kill()
    if args.json:
        print(json.dumps(figures))
    else:
        for key_name, value in figures.items():
            print(f"{key_name:14} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
