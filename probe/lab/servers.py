"""Starting the lab's servers in their namespaces and waiting until each one answers.

One `Server` per process: the command, the namespace, the log, and a readiness check (a listening
socket seen in /proc/<pid>/net, or a file the process writes). All are started first and waited
for together, so the lab comes up in the time of the slowest one. Stopping is not done here:
`netns.delete_namespace` kills whatever runs in a namespace.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from probe.errors import LabError
from probe.lab.netns import spawn


@dataclass
class Server:
    name: str
    ns: str
    argv: list[str]
    ready: Callable[[int], bool]  # gets the pid
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def socket_ready(port: int, address: str = "", *, udp: bool = False) -> Callable[[int], bool]:
    return lambda pid: listening(pid, port, address, udp=udp)


def file_ready(path: Path) -> Callable[[int], bool]:
    return lambda pid: path.exists()


def _proc_address(address: str) -> str:
    """How /proc/net/{tcp,udp}[6] spells an address (32-bit words in host byte order)."""
    if ":" in address:
        raw = socket.inet_pton(socket.AF_INET6, address)
        return "".join(f"{w:08X}" for w in struct.unpack("=4I", raw))
    return f"{struct.unpack('=I', socket.inet_aton(address))[0]:08X}"


def listening(pid: int, port: int, address: str = "", *, udp: bool = False) -> bool:
    """Whether a socket in `pid`'s network namespace listens on `address`:`port` (any address if "")."""
    kinds = ("udp", "udp6") if udp else ("tcp", "tcp6")
    want_state = "07" if udp else "0A"  # UDP "unconnected", TCP LISTEN
    want_addr = _proc_address(address) if address else ""
    for kind in kinds:
        try:
            lines = Path(f"/proc/{pid}/net/{kind}").read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            return False
        for line in lines:
            fields = line.split()
            addr, _, hexport = fields[1].rpartition(":")
            if int(hexport, 16) == port and fields[3] == want_state and (not want_addr or addr == want_addr):
                return True
    return False


def start_all(servers: Sequence[Server], *, logs: Path, pids: Path, timeout_s: float = 10.0) -> None:
    """Start every server and wait until each is ready; LabError (with its log's tail) if one is not."""
    for s in servers:
        s.proc = spawn(s.ns, s.argv, log=logs / f"{s.name}.log", pid_file=pids / f"{s.name}.pid")
    deadline = time.monotonic() + timeout_s
    pending = list(servers)
    while pending:
        for s in list(pending):
            assert s.proc is not None
            if s.ready(s.proc.pid):
                pending.remove(s)
            elif s.proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(_failure(s, logs), hint=f"see {logs}/{s.name}.log")
        time.sleep(0.01)


def _failure(s: Server, logs: Path) -> str:
    log = logs / f"{s.name}.log"
    tail = ""
    if log.exists():
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
    state = "exited" if s.proc is not None and s.proc.poll() is not None else "did not become ready"
    return f"{s.name} {state}" + (f": {tail}" if tail else "")
