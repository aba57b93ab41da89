"""Is the process that marked a run `running` still alive? Closes runs left behind by a SIGKILL.

A run's owner is written as `host|boot id|pid|start time` (start time in clock ticks since boot, from
/proc/<pid>/stat), so a recycled pid or a reboot is not mistaken for the same process. A row whose owner
is on another host (a store copied from elsewhere) or unknown (written before migration 0007) is left
as it is: we cannot tell. Linux only, like the rest of the probe. This module reads /proc and the
runs table; it never touches measurements.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from probe.store.links import Signer
    from probe.store.store import Store


@cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return "unknown"


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def this_process() -> str:
    return f"{socket.gethostname()}|{_boot_id()}|{os.getpid()}|{_start_time(os.getpid()) or '?'}"


def owner_alive(owner: str | None) -> bool | None:
    """True or False when it can be told from this machine; None when it cannot."""
    if not owner:
        return None
    parts = owner.split("|")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    host, boot, pid, started = parts
    if host != socket.gethostname():
        return None
    if boot != _boot_id():
        return False  # the machine rebooted since: every process of that boot is gone
    return _start_time(int(pid)) == started


def close_dead_runs(store: Store, *, signer: Signer | None = None) -> list[str]:
    """Mark `interrupted` each run whose owner process is gone; returns their run ids.

    Its counts are what it stored. A daemon still continues such a run while its window is open
    (`probe.schedule.plan` resumes interrupted runs too), so nothing is lost by closing it here.
    With a signer the closing is a signed run record; without one (`probe status` holds no key) the
    row is closed unchained, which `verify --store` reports as not covered.
    """
    closed = []
    for run_id, owner in store.running_owners():
        if owner_alive(owner) is False:
            store.finish_run(run_id, "interrupted", signer=signer)
            closed.append(run_id)
    return closed
