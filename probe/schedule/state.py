"""The daemon's lock and state files, next to the store: one daemon per store, and what it is doing.

    <dir>/<store stem>.daemon.lock    flock held while a daemon runs (so `probe status` knows)
    <dir>/<store stem>.daemon.json    pid, start time, network state, next run per list (jittered)

The state file is rewritten atomically (write, fsync, rename) whenever something changes, so a reader
never sees half a file. The names do not start with the store's file name, so they are not counted in
the store's size. The evidence itself is only ever in the store.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

from probe.errors import StoreError


def lock_path(store: Path) -> Path:
    return store.with_name(f"{store.stem}.daemon.lock")


def state_path(store: Path) -> Path:
    return store.with_name(f"{store.stem}.daemon.json")


class DaemonLock:
    """An exclusive flock on the lock file; released when the process dies, even by SIGKILL."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.path = lock_path(store)
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise StoreError(f"another probe daemon is already running on the store {self.store}",
                             hint="stop it first (systemctl stop probe), or give this one another store") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def daemon_running(store: Path) -> bool:
    """Whether some process holds the store's daemon lock right now."""
    path = lock_path(store)
    if not path.exists():
        return False
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def write_state(store: Path, state: dict[str, Any]) -> None:
    path = state_path(store)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(state, handle, sort_keys=True, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_state(store: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(state_path(store).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
