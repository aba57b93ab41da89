"""Entry point: `python -m probe.lab.middlebox CONFIG.json` (started by the lab in the isp namespace)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from probe.lab.middlebox import httpbox, nfq, tlsbox


async def run(conf: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    workdir = Path(conf["workdir"])
    await nfq.start_stubs({"SERVFAIL": conf["stub_ports"]["dns_servfail"],
                           "REFUSED": conf["stub_ports"]["dns_refused"]})
    servers = await httpbox.start(conf)
    accept_loops = await tlsbox.start(conf, workdir)
    queues = []
    if conf.get("inject_rules"):
        queues.append(nfq.bind_queue(loop, conf["inject_queue"], nfq.Injector(conf["inject_rules"]),
                                     payload=True))
    if conf.get("delay_ms"):
        queues.append(nfq.bind_queue(loop, conf["delay_queue"],
                                     nfq.Delayer(loop, conf["delay_ms"] / 1000), payload=False))
    (workdir / "middlebox.ready").write_text("ok\n", encoding="ascii")
    print(f"middlebox ready: {len(servers)} servers, {len(accept_loops)} tls loops, "
          f"{len(queues)} queues", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    conf = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    asyncio.run(run(conf))


if __name__ == "__main__":
    main()
