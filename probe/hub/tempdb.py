"""A throwaway PostgreSQL cluster in a temporary folder: for the hub's tests, benchmark and lab demo.

initdb and pg_ctl from Debian's `postgresql` package (found under /usr/lib/postgresql/*/bin, or on
PATH), run as an unprivileged user when started as root (PostgreSQL refuses to run as root). It
listens only on a unix socket inside its own folder, so it never clashes with another server and is
never reachable over the network. Trust authentication: only its owner can reach that folder.
fsync is off: a test cluster holds nothing worth the disk's time (a restart still keeps all data);
`durable=True` keeps PostgreSQL's own defaults (fsync, synchronous_commit, full_page_writes on), for
benchmark figures that a production hub would see.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from probe.errors import HubError

RUN_AS = "nobody"
PORT = 5432


def _tool(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise HubError(f"PostgreSQL's {name} was not found", hint="apt-get install postgresql (scripts/bootstrap --dev)")


class TempPostgres:
    """`start()` a cluster, `conninfo(db)` to reach it, `restart()`, `stop()` (removes the folder)."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="probe-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._user = RUN_AS if os.geteuid() == 0 else None
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o700)

    def _run(self, *args: str, timeout: float = 120.0) -> None:
        command = list(args)
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root,
                              check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise HubError(f"{Path(args[0]).name} failed: {' / '.join(tail)}")

    def start(self) -> TempPostgres:
        self._run(_tool("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "--locale=C")
        self._pg_ctl("start")
        return self

    def _pg_ctl(self, action: str, *extra: str) -> None:
        unsafe = "" if self.durable else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        options = (f"-k {self.root} -c listen_addresses='' -p {PORT} {unsafe}"
                   "-c max_connections=300 -c shared_buffers=128MB")
        self._run(_tool("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                  *extra, action)

    def restart(self) -> None:
        """Stop (fast: connections cut) and start again; the data stays."""
        self._pg_ctl("restart", "-m", "fast")

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.root} port={PORT} user=postgres dbname={dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.conninfo(name)

    def stop(self) -> None:
        with contextlib.suppress(HubError):  # already stopped: the folder goes anyway
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)
