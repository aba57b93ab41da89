"""Thin wrappers over `ip netns`, `ip -batch`, `iptables-restore` and server processes in namespaces.

Everything the lab creates lives inside its namespaces (veths are created directly in them), so the
root namespace only ever gets /run/netns/<ns>, /etc/netns/<ns>/ and the lab's state dir. Teardown
therefore needs no record of what was built: it finds namespaces by prefix, kills every process in
them, and deletes them — which is why it also works after a SIGKILLed run. This module does not know
the topology (see `topology.py`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from probe.errors import LabError

NETNS_RUN = Path("/run/netns")
NETNS_ETC = Path("/etc/netns")


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the censorship lab needs root (network namespaces and iptables)",
                       hint="run it as root, e.g. `sudo probe lab up`")


def run(argv: Sequence[str], *, input_text: str | None = None, check: bool = True,
        timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise LabError carrying its stderr (first lines only)."""
    try:
        proc = subprocess.run(list(argv), input=input_text, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]} is not installed", hint="see docs/scenarios.md (lab requirements)") \
            from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(argv[:4])} did not finish in {timeout:.0f} s") from exc
    if check and proc.returncode != 0:
        err = " ".join(proc.stderr.strip().splitlines()[:3])
        raise LabError(f"`{' '.join(argv[:6])}` failed: {err or f'exit {proc.returncode}'}")
    return proc


def ns_argv(ns: str, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def ip_batch(ns: str | None, commands: Sequence[str]) -> None:
    """Many `ip` commands in one process (a topology is a few dozen of them)."""
    if not commands:
        return
    base = ["ip", "-n", ns] if ns else ["ip"]
    run([*base, "-batch", "-"], input_text="\n".join(commands) + "\n")


def iptables_restore(ns: str, ruleset: str, *, ipv6: bool = False) -> None:
    """Replace a namespace's iptables rules atomically (iptables-nft backend, iptables syntax)."""
    tool = "ip6tables-restore" if ipv6 else "iptables-restore"
    run(ns_argv(ns, [tool]), input_text=ruleset)


def sysctl(ns: str, settings: dict[str, str]) -> None:
    """/proc/sys/net is per network namespace: set it from inside, all keys in one process."""
    if settings:
        run(ns_argv(ns, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in settings.items())]))


def list_namespaces(prefix: str) -> list[str]:
    if not NETNS_RUN.is_dir():
        return []
    return sorted(p.name for p in NETNS_RUN.iterdir() if p.name.startswith(prefix + "-"))


def add_namespace(ns: str) -> None:
    run(["ip", "netns", "add", ns])
    ip_batch(ns, ["link set lo up"])


def namespace_pids(ns: str) -> list[int]:
    proc = run(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in proc.stdout.split() if x.isdigit()]


def kill_pids(pids: Sequence[int], *, grace_s: float = 1.0) -> None:
    """SIGTERM, then SIGKILL what is still alive after `grace_s`."""
    alive = [p for p in pids if _signal(p, signal.SIGTERM)]
    deadline = time.monotonic() + grace_s
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if _exists(p)]
    for p in alive:
        _signal(p, signal.SIGKILL)


def _signal(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


def _exists(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def processes_naming(words: Sequence[str]) -> list[int]:
    """Processes with one of `words` as a whole argument (a namespace name) or inside one (a path).

    A SIGKILLed `probe lab up` leaves its children running: an `ip netns add` in flight creates its
    namespace after teardown has listed them, unless teardown stops those children first.
    """
    found = []
    me = os.getpid()
    wanted = [w.encode() for w in words]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg == w or (w.startswith(b"/") and _names_path(arg, w)) for arg in argv for w in wanted):
            found.append(int(entry.name))
    return found


def _names_path(arg: bytes, path: bytes) -> bool:
    """`arg` names `path` or something under it, not a sibling: /run/probe-lab/plab is not .../plab0."""
    return arg == path or arg.endswith(path) or (path + b"/") in arg or (path + b" ") in arg


def delete_namespace(ns: str) -> None:
    """Kill every process in `ns`, delete it (its veths and iptables go with it) and its /etc dir."""
    for _ in range(3):  # a dying server may fork once more: look again
        pids = namespace_pids(ns)
        if not pids:
            break
        kill_pids(pids)
    run(["ip", "netns", "del", ns], check=False)
    shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)


def spawn(ns: str, argv: Sequence[str], *, log: Path, pid_file: Path,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a long-running server inside `ns`, detached from our session, logging to `log`."""
    with log.open("ab") as out:
        proc = subprocess.Popen(ns_argv(ns, argv), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
    pid_file.write_text(f"{proc.pid}\n", encoding="ascii")
    return proc
