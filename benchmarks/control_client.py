#!/usr/bin/env python3
"""The probe's control client alone: its CPU per question, against a helper that answers at once.

A run asks the control helper once per URL, so the client's own cost (HTTP over kept-alive TLS
connections, the answer parsed and validated) is paid thousands of times. This isolates it: a
stand-in helper on loopback (uvicorn, in a process of its own, with a certificate made here for
127.0.0.1) answers every question with the same small control answer, and `ControlClient.query`
asks N questions, K at a time, on the loop `probe run` uses. Prints questions/s and the client
process's own CPU (rusage) per question. No lab, no root, loopback only.

    .venv/bin/python benchmarks/control_client.py                  # 3,000 questions, 64 at a time
    .venv/bin/python benchmarks/control_client.py --json

To compare with older code, run this script with that tree's package first on the path (the
client's constructor and `query` are the same since issue 15's first round):

    PYTHONPATH=/tmp/old .venv/bin/python benchmarks/control_client.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ANSWER_PATH = "/api/v1/control"


def _serve(folder: Path, port_file: Path) -> None:
    """The stand-in helper: every POST gets the same answer (run in its own process)."""
    import socket

    import uvicorn

    from probe.models.control import ControlDNS, ControlResponse

    answer = ControlResponse(helper="", dns=ControlDNS(addresses=["198.51.100.7"])).model_dump_json().encode()

    async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def,type-arg]
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": answer})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)  # connections wait in the backlog until uvicorn has started
    port_file.write_text(str(sock.getsockname()[1]))
    config = uvicorn.Config(app, log_level="warning", ssl_certfile=str(folder / "helper.pem"),
                            ssl_keyfile=str(folder / "helper.key"), timeout_keep_alive=30)
    uvicorn.Server(config).run(sockets=[sock])


def _certificates(folder: Path) -> Path:
    from probe.lab import pki

    ca = pki.make_ca("control client benchmark CA")
    key = pki.new_key()
    (folder / "helper.pem").write_bytes(pki.chain_pem(pki.make_leaf(["127.0.0.1"], issuer=ca, key=key)))
    (folder / "helper.key").write_bytes(pki.key_pem(key))
    bundle = folder / "ca.pem"
    bundle.write_bytes(ca.cert_pem())
    return bundle


async def _ask(url: str, bundle: Path, questions: int, inflight: int, warmup: int) -> dict[str, float]:
    from probe.control.client.api import ControlClient

    async with ControlClient(urls=[url], ca_bundle=bundle, doh_url=None, timeout_s=10.0) as client:
        gate = asyncio.Semaphore(inflight)
        failed = 0

        async def one(n: int) -> None:
            nonlocal failed
            async with gate:
                response, problem = await client.query(f"https://site-{n}.example/", [])
                if response is None:
                    failed += 1

        await asyncio.gather(*(one(n) for n in range(warmup)))  # connections opened, code paths warm
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(questions)))
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"questions": questions, "inflight": inflight, "failed": failed, "wall_s": round(wall, 3),
            "questions_per_s": round(questions / wall, 1), "client_cpu_s": round(cpu, 3),
            "client_cpu_ms_per_question": round(1000 * cpu / questions, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=3000)
    ap.add_argument("--inflight", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the stand-in helper's mode
    args = ap.parse_args()
    if args.serve is not None:
        _serve(args.serve, args.serve / "port")
        return 0
    if min(args.questions, args.inflight) < 1 or args.warmup < 0:
        print("error: --questions and --inflight need 1 or more, --warmup 0 or more", file=sys.stderr)
        return 2
    from probe.cli.eventloop import run

    with tempfile.TemporaryDirectory(prefix="probe-ctlclient-") as name:
        folder = Path(name)
        bundle = _certificates(folder)
        helper = subprocess.Popen([sys.executable, __file__, "--serve", str(folder)])
        try:
            port_file = folder / "port"
            deadline = time.monotonic() + 20
            while not port_file.exists() or not port_file.read_text():
                if helper.poll() is not None or time.monotonic() > deadline:
                    print("error: the stand-in helper did not start", file=sys.stderr)
                    return 2
                time.sleep(0.05)
            figures = run(_ask(f"https://127.0.0.1:{port_file.read_text()}/", bundle, args.questions,
                               args.inflight, args.warmup))
        finally:
            helper.terminate()
            helper.wait(timeout=10)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:28} {value}")
    return 0 if figures["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
