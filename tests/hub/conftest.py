"""A real PostgreSQL (initdb + pg_ctl, as `nobody` when root) and real hubs (uvicorn, subprocesses).

One cluster per session; each test gets its own database and its own hub process, so a test that
kills or restarts something disturbs no other. Probes are real stores with real signing keys.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from evidence_samples import START, sample_set

from probe.evidence.keys import generate_key, load_signer
from probe.hub.enrol import create_invite
from probe.hub.schema import migrate
from probe.hub.tempdb import TempPostgres
from probe.store import Store

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pg() -> Iterator[TempPostgres]:
    server = TempPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hub_db(pg: TempPostgres) -> str:
    dsn = pg.create_database("hub_" + uuid.uuid4().hex[:12])
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
    return dsn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Hub:
    database: str
    tmp: Path
    settings: dict[str, Any] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Hub:
        self.port = self.port or free_port()
        config = self.tmp / f"hub-{uuid.uuid4().hex[:6]}.toml"
        lines = ["[hub]", f'database = "{self.database}"', f'listen = "127.0.0.1:{self.port}"']
        lines += [f"{k} = {v!r}" if isinstance(v, int) else f'{k} = "{v}"' for k, v in self.settings.items()]
        config.write_text("\n".join(lines) + "\n")
        self.log_path = self.tmp / f"hub-{self.port}.log"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "probe", "hub", "serve", "--config", str(config)],
                                        stdout=log, stderr=log, cwd=REPO, env=_env())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the hub exited: {self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the hub did not come up: {self.log()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database, autocommit=True) as conn:
            return list(conn.execute(query.encode(), args or None).fetchall())

    def invite(self, name: str = "Almaty 3") -> str:
        with psycopg.connect(self.database, autocommit=True) as conn:
            return create_invite(conn, name=name)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PROBE_CONFIG", None)
    return env


@pytest.fixture
def make_hub(hub_db: str, tmp_path: Path) -> Iterator[Any]:
    hubs: list[Hub] = []

    def make(**settings: Any) -> Hub:
        hub = Hub(database=hub_db, tmp=tmp_path, settings=settings).start()
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()


@dataclass
class Volunteer:
    """A probe's files: its key and its store, filled with real signed measurements."""

    key: Path
    store: Path

    def measure(self, rounds: int = 1, *, shift: timedelta = timedelta(0), when: datetime | None = None) -> int:
        """Append `rounds` × 6 signed measurements (the sample scenarios) with their verdict links; returns
        the head seq (every link is signed: the store's first is the key record)."""
        signer = load_signer(self.key)
        with Store.open(self.store) as store:
            for m, arts, verdict in sample_set(rounds):
                start = datetime.fromisoformat(m.test_start_time.replace("Z", "+00:00"))
                moved = (when + (start - START)) if when else start + shift
                m = m.model_copy(update={"test_start_time": moved.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                         "measurement_id": str(uuid.uuid4())})
                store.append(m, arts, verdict, signer=signer)
            return store.head()[0]

    def env(self) -> dict[str, str]:
        return {**_env(), "PROBE_KEY": str(self.key), "XDG_CONFIG_HOME": str(self.key.parent / "xdg")}


@pytest.fixture
def volunteer(tmp_path: Path) -> Volunteer:
    return make_volunteer(tmp_path / "v1")


def make_volunteer(folder: Path) -> Volunteer:
    folder.mkdir(parents=True, exist_ok=True)
    generate_key(folder / "probe.key")
    return Volunteer(key=folder / "probe.key", store=folder / "probe.sqlite")


def probe_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, cwd=REPO,
                          env=env or _env(), timeout=timeout, check=False)
