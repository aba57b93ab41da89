"""Issue 7's "done when", in the censorship lab: the scheduled probe as a volunteer would run it.

The daemon runs in the lab's client namespace with a one-minute cron schedule over a list with one
censored site (TLS SNI filtering) and a dozen uncensored ones. It must measure at the expected
times, survive SIGKILL and a restart without losing or duplicating a finished measurement (the run
is continued under its run id), and `probe status` must tell the truth throughout. A second test
blocks the control helper: the daemon must back off and record nothing, not a flood of failures.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from labhelpers import lab_prefix, skip_unless_lab_possible

from probe.lab.lab import Lab
from probe.lab.scenario import Scenario, load_scenarios
from probe.models.canonical import GENESIS_HASH, chain_hash
from probe.store import EntryFilter, Store

pytestmark = pytest.mark.lab

SCENARIOS = {s.name: s for s in load_scenarios([Path(__file__).resolve().parent / "scenarios"])}
BULK = [f"site{i}.example.kz" for i in range(12)]
LAB_ADDRESS_PREFIXES = ("10.77.", "198.18.", "198.19.", "fd77:")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    skip_unless_lab_possible()
    the_lab = Lab(prefix=lab_prefix("d"))
    try:
        yield the_lab
    finally:
        the_lab.down()


def _measure_table(lab: Lab) -> str:
    """The [measure] table equivalent to the lab's `probe run` flags (so the two never drift apart)."""
    args = lab.probe_args()
    keys = {"--resolver": "resolver", "--ca-bundle": "ca_bundle", "--asn-db": "asn_db", "--decoy-sni": "decoy_sni"}
    lines, controls, not_bogon, timeouts = ["[measure]", "parallel = 1"], [], [], []
    registries: list[str] = []
    well_known: list[str] = []
    i = 0
    while i < len(args):
        flag = args[i]
        if flag in ("--json", "--no-progress"):
            i += 1
            continue
        value = args[i + 1]
        if flag in keys:
            lines.append(f"{keys[flag]} = {json.dumps(value)}")
        elif flag == "--control":
            controls.append(value)
        elif flag == "--not-bogon":
            not_bogon.append(value)
        elif flag == "--registry":
            tld, _, spec = value.partition("=")
            registries.append(f"{json.dumps(tld)} = {json.dumps(spec)}")
        elif flag == "--well-known":
            well_known.append(value)
        elif flag.startswith("--timeout-"):
            timeouts.append(f"{flag.removeprefix('--timeout-')}_s = {float(value)}")
        else:
            raise AssertionError(f"unexpected lab flag {flag}")
        i += 2
    lines += [f"control_urls = {json.dumps(controls)}", f"not_bogon = {json.dumps(not_bogon)}",
              f"well_known = {json.dumps(well_known)}",
              "[measure.timeouts]", *timeouts, "[measure.registries]", *registries]
    return "\n".join(lines)


def _setup(lab: Lab, scenario: Scenario, home: Path, *, schedule: str) -> Path:
    lab.up(scenario, bulk_hosts=BULK)
    urls = [scenario.url] + [f"https://{host}/" for host in BULK]
    rows = ["url,category_code,category_description,date_added,source,notes"]
    rows += [f"{u},HUMR,Human Rights Issues,2026-01-01,lab," for u in urls]
    (home / "lab.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    init = subprocess.run([sys.executable, "-m", "probe", "init", "--yes", "--key", str(home / "key")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert init.returncode == 0, init.stderr
    config = home / "config.toml"
    config.write_text(f'store = "probe.sqlite"\nkey = "key"\n{_measure_table(lab)}\n'
                      '[daemon]\nstop_grace = "5s"\npreflight_timeout = "2s"\n'
                      'backoff_initial = "2s"\nbackoff_max = "4s"\n'
                      f'[[schedule]]\nlist = "lab.csv"\nname = "lab"\n{schedule}\njitter = "0s"\n',
                      encoding="utf-8")
    check = _probe(lab, home, "config", "check")
    assert check.returncode == 0, check.stderr
    return config


def _env(home: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(home / "cfg"), "XDG_STATE_HOME": str(home / "state"),
            "PROBE_CONFIG": str(home / "config.toml"), "PYTHONUNBUFFERED": "1"}


def _probe(lab: Lab, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return lab.client_exec([sys.executable, "-m", "probe", *args], timeout=120, env=_env(home))


class Daemon:
    """`probe daemon` in the client namespace, its JSON log in a file."""

    def __init__(self, lab: Lab, home: Path) -> None:
        self.log_path = home / f"daemon-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        import os

        self.proc = lab.client_popen([sys.executable, "-m", "probe", "daemon", "--log-format", "json"],
                                     stdout=subprocess.DEVNULL, stderr=self._log, env={**os.environ, **_env(home)})

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        lines = [json.loads(ln) for ln in self.log_path.read_text(encoding="utf-8").splitlines() if ln.startswith("{")]
        return [e for e in lines if name is None or e["event"] == name]

    def finish(self, sig: int | None = None, timeout: float = 30) -> int:
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)  # `ip netns exec` execs the probe: this pid is the daemon's
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._log.close()


def _until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _store(home: Path) -> Store:
    return Store.open(home / "probe.sqlite")


def _count(home: Path) -> int:
    if not (home / "probe.sqlite").exists():
        return 0
    with _store(home) as store:
        return store.count()


def _status(lab: Lab, home: Path) -> dict[str, Any]:
    result = _probe(lab, home, "status", "--json")
    assert result.returncode == 0, result.stderr
    status: dict[str, Any] = json.loads(result.stdout)
    return status


def _on_the_minute(iso: object) -> datetime:
    moment = datetime.fromisoformat(str(iso))
    assert moment.second < 5, f"{iso} is not at the start of a minute"
    return moment


@pytest.mark.timeout(420)
def test_a_one_minute_schedule_survives_sigkill_and_status_tells_the_truth(lab: Lab, tmp_path: Path) -> None:
    scenario = SCENARIOS["tls_sni_drop"]
    _setup(lab, scenario, tmp_path, schedule='cron = "* * * * *"')
    n_urls = 1 + len(BULK)

    first = Daemon(lab, tmp_path)
    try:
        _until(lambda: _count(tmp_path) >= 3, timeout=90, what="the first scheduled run")
    finally:
        first.finish(signal.SIGKILL)
    killed_at = _count(tmp_path)
    assert 3 <= killed_at < n_urls, "killed in the middle of the run"
    with _store(tmp_path) as store:
        [run] = store.runs()
    assert run["status"] == "running"
    status = _status(lab, tmp_path)
    assert not status["daemon_running"] and status["measurements"] == killed_at
    assert status["lists"][0]["last_run"]["status"] == "interrupted"

    second = Daemon(lab, tmp_path)
    try:
        _until(lambda: bool(second.events("run")), timeout=60, what="the continued run")
        continued = second.events("run")[0]
        assert continued["run_id"] == run["run_id"] and continued["reason"] == "continued"
        assert continued["status"] == "finished" and continued["total"] == n_urls
        _until(lambda: len(second.events("run")) >= 2, timeout=90, what="the next minute's run")
        scheduled = second.events("run")[1]
        assert scheduled["reason"] == "scheduled" and scheduled["total"] == n_urls
        _check_status_while_running(lab, tmp_path, scheduled, n_urls)
        assert second.finish(signal.SIGTERM) == 0
    finally:
        second.finish(signal.SIGKILL)
    assert second.events()[-1]["event"] == "daemon_stopped"

    with _store(tmp_path) as store:
        runs = list(reversed(store.runs()))
        assert [r["run_id"] for r in runs] == [run["run_id"], scheduled["run_id"]]
        starts = [_on_the_minute(r["started_at"]) for r in runs]
        assert starts[1] - starts[0] >= timedelta(seconds=55)
        _check_evidence(store, runs, n_urls, censored=scenario.url)
    assert not _status(lab, tmp_path)["daemon_running"]
    text = "".join(d.log_path.read_text(encoding="utf-8") for d in (first, second))
    assert not any(prefix in text for prefix in LAB_ADDRESS_PREFIXES), "no IP addresses in the daemon's log"


def _check_status_while_running(lab: Lab, home: Path, last: dict[str, Any], n_urls: int) -> None:
    status = _status(lab, home)
    assert status["daemon_running"] and status["network"] == "up"
    [item] = status["lists"]
    assert item["last_run"]["run_id"] == last["run_id"] and item["last_run"]["status"] == "finished"
    assert item["last_run"]["total"] == n_urls and item["last_run"]["counts"] == last["counts"]
    with _store(home) as store:
        assert status["measurements"] == store.count() == 2 * n_urls
        stored = Counter(e.verdict.label if e.verdict else "unclassified"
                         for e in store.entries(EntryFilter(run_id=last["run_id"])))
        assert dict(stored) == item["last_run"]["counts"]
    next_run = datetime.fromisoformat(item["next_runs"][0])
    started = datetime.fromisoformat(str(item["last_run"]["started_at"]))
    assert next_run.second == 0 and timedelta(0) < next_run - started <= timedelta(seconds=60)


def _check_evidence(store: Store, runs: list[dict[str, object]], n_urls: int, *, censored: str) -> None:
    prev = GENESIS_HASH
    for link in store.links():  # measurements, their verdicts, the key and the runs: one signed chain
        assert link.prev_hash == prev and link.chain_hash == chain_hash(prev, link.record_sha256)
        assert link.signature, "the daemon signs with the configured key"
        prev = link.chain_hash
    inputs: dict[str, list[str]] = {}
    for entry in store.entries():
        inputs.setdefault(str(entry.run_id), []).append(entry.input)
        if entry.input == censored:
            assert entry.verdict is not None and entry.verdict.label == "tls.timeout"
        else:
            assert entry.verdict is not None and entry.verdict.label == "ok", entry.input
    for run in runs:
        measured = inputs[str(run["run_id"])]
        assert len(measured) == len(set(measured)) == n_urls, "nothing lost, nothing twice"
    from probe.evidence.verify.store import verify_store

    checked = verify_store(store, public_key=None)  # verdict rows, run rows and records all agree
    assert checked.ok, [str(f) for f in checked.failures]
    assert checked.checked["verdict index rows"] == sum(len(v) for v in inputs.values())


@pytest.mark.timeout(180)
def test_with_every_control_blocked_the_daemon_backs_off_and_records_nothing(lab: Lab, tmp_path: Path) -> None:
    _setup(lab, SCENARIOS["block_control_https"], tmp_path, schedule='every = "1m"')
    daemon = Daemon(lab, tmp_path)
    try:
        _until(lambda: len(daemon.events("network_down")) >= 3, timeout=60, what="backoff")
        status = _status(lab, tmp_path)
        assert status["daemon_running"] and status["network"] == "down"
        assert daemon.finish(signal.SIGTERM) == 0
    finally:
        daemon.finish(signal.SIGKILL)
    delays = [e["retry_in_s"] for e in daemon.events("network_down")]
    assert delays[:3] == [2.0, 4.0, 4.0]  # doubling, capped at backoff_max
    assert _count(tmp_path) == 0 and not daemon.events("run")
