"""Run scenarios: a clean lab per scenario, the real probe inside it, its verdict against the expected one.

The probe runs unchanged as a separate process in the client namespace (`python -m probe run` with
`Lab.probe_args()`), exactly as a volunteer would run it; we only read its JSON line. This module
prints nothing (the CLI does).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import Any

from probe.lab.lab import Lab
from probe.lab.netns import require_root
from probe.lab.scenario import Scenario
from probe.models.verdict import is_blocked_label

PROBE_RUN_TIMEOUT_S = 180.0


@dataclass
class ScenarioResult:
    name: str
    url: str
    expected: str
    got: str | None
    measurement_id: str | None = None
    expected_blocking: Any = None  # None: not checked
    expected_reason: str = ""  # "": not checked
    got_blocking: Any = None
    confidence: str | None = None
    reasons: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    mitm_issuer: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    expected_history: str | None = None  # "mark" / "none" (scenarios with phases), None: not checked
    got_history: str | None = None
    phases: list[str] = field(default_factory=list)  # "phase 0: expected down, got down" per earlier phase

    @property
    def ok(self) -> bool:
        if self.got != self.expected or self.error is not None:
            return False
        if self.expected_history is not None and self.got_history != self.expected_history:
            return False
        if self.expected_reason and self.expected_reason not in " ".join(self.reasons):
            return False
        return self.expected_blocking is None or self.got_blocking == self.expected_blocking

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def probe_command(lab: Lab, urls: list[str], store: Path, key: Path | None = None, *,
                  timeouts: dict[str, float] | None = None, ipv6_resolver: bool = False) -> list[str]:
    """`probe run` in the lab: the probe's production timeouts unless `timeouts` overrides steps."""
    signing = ["--key", str(key)] if key is not None else []
    args = lab.probe_args(timeouts=timeouts, ipv6_resolver=ipv6_resolver)
    return [sys.executable, "-m", "probe", "run", *args, "--store", str(store), *signing, *urls]


def run_scenario(lab: Lab, scenario: Scenario, *, store: Path, key: Path | None = None) -> ScenarioResult:
    """Build the lab for `scenario`, measure its URL once, and compare (the lab stays up).

    A scenario with phases is measured once per phase first, the lab rebuilt for each, into a store of
    its own (beside `store`) so the history it checks is its own; a phase that misses its expectation
    is the scenario's error.
    """
    if not scenario.phase:
        return _run_once(lab, scenario, store=store, key=key)
    own = store.with_name(f"{store.stem}-{scenario.name}.sqlite")
    own.unlink(missing_ok=True)
    t0 = time.monotonic()
    notes: list[str] = []
    for i in range(len(scenario.phase)):
        step = _run_once(lab, scenario.at_phase(i), store=own, key=key)
        notes.append(f"phase {i}: expected {step.expected}, got {step.got}")
        if not step.ok:
            step.error = step.error or f"phase {i}: expected {step.expected}, got {step.got}: {step.reasons}"
            step.name, step.phases, step.duration_s = scenario.name, notes, round(time.monotonic() - t0, 2)
            return step
    result = _run_once(lab, scenario, store=own, key=key)
    result.phases, result.duration_s = notes, round(time.monotonic() - t0, 2)
    result.expected_history = scenario.expect.history
    if result.error is None and scenario.expect.history is not None:
        result.got_history = "mark" if scenario.url in _history_marks(own, scenario.url) else "none"
    return result


def _history_marks(store: Path, url: str) -> dict[str, Any]:
    """The marks `probe results` would print for `url`, read from the scenario's own store."""
    from probe.evidence.history import HistoryPoint, history_marks
    from probe.store import Store

    with Store.open(store, create=False) as st:
        return dict(history_marks(HistoryPoint(url=u, time=t, measurement_id=m, label=label)
                                  for u, t, m, label in st.label_history([url])))


def _run_once(lab: Lab, scenario: Scenario, *, store: Path, key: Path | None) -> ScenarioResult:
    result = ScenarioResult(name=scenario.name, url=scenario.url, expected=scenario.expect.verdict,
                            got=None, expected_blocking=scenario.expect.blocking,
                            expected_reason=scenario.expect.reason)
    t0 = time.monotonic()
    try:
        lab.up(scenario)
        argv = probe_command(lab, [scenario.url], store, key, timeouts=scenario.timeouts.flags(),
                             ipv6_resolver=scenario.network.ipv6_resolver)
        proc = lab.client_exec(argv, timeout=PROBE_RUN_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - one broken scenario must not stop the table
        result.error = f"{type(exc).__name__}: {exc}"
        result.duration_s = round(time.monotonic() - t0, 2)
        return result
    result.duration_s = round(time.monotonic() - t0, 2)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("{")), "")
    if not line:
        err = " ".join(proc.stderr.strip().splitlines()[-2:])
        result.error = f"probe run exited {proc.returncode} without a result: {err}"
        return result
    _fill(result, json.loads(line))
    return result


def _fill(result: ScenarioResult, record: dict[str, Any]) -> None:
    result.measurement_id = record.get("measurement_id")
    verdict = record.get("verdict") or {}
    if not verdict:
        result.error = "the probe gave no verdict"
        return
    result.got = verdict.get("label")
    result.got_blocking = verdict.get("blocking")
    result.confidence = verdict.get("confidence")
    result.reasons = list(verdict.get("reasons") or [])
    result.fingerprint = verdict.get("fingerprint")
    result.mitm_issuer = verdict.get("mitm_issuer")


def run_all(scenarios: Iterable[Scenario], *, lab: Lab, store: Path, parallel: int = 1,
            on_result: Callable[[ScenarioResult], None] | None = None) -> list[ScenarioResult]:
    """Every scenario, in order; with `parallel` > 1 that many labs (prefix + digit) work at once,
    sharing the store (its appends are serialised by SQLite)."""
    require_root()  # here, not in a worker thread, so the CLI prints it as one line
    todo = list(scenarios)
    labs = [lab] if parallel <= 1 else [Lab(prefix=f"{lab.prefix[:9]}{i}", state_root=lab.state.parent)
                                        for i in range(min(parallel, 9))]
    queue: Queue[tuple[int, Scenario]] = Queue()
    for item in enumerate(todo):
        queue.put(item)
    results: dict[int, ScenarioResult] = {}
    lock = threading.Lock()

    def work(worker_lab: Lab) -> None:
        try:
            while True:
                try:
                    index, scenario = queue.get_nowait()
                except Empty:
                    return
                result = run_scenario(worker_lab, scenario, store=store)
                with lock:
                    results[index] = result
                    if on_result is not None:
                        on_result(result)
        finally:
            worker_lab.down()

    threads = [threading.Thread(target=work, args=(wl,), daemon=True) for wl in labs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [results[i] for i in sorted(results)]


@dataclass(frozen=True)
class Summary:
    total: int
    passed: int
    confusion: list[tuple[str, str, int]]  # (expected, got, count) for every mismatch
    false_positives: list[str]  # scenarios that are not censorship but got a "blocked" label
    false_negatives: list[str]  # censorship scenarios that got a "not blocked" label
    errors: list[str]  # scenarios that produced no verdict at all


def summarise(results: list[ScenarioResult]) -> Summary:
    pairs = Counter((r.expected, r.got or "(none)") for r in results if not r.ok)
    fp = [r.name for r in results if not is_blocked_label(r.expected) and r.got and is_blocked_label(r.got)]
    fn = [r.name for r in results if is_blocked_label(r.expected) and r.got and not is_blocked_label(r.got)]
    return Summary(total=len(results), passed=sum(r.ok for r in results),
                   confusion=[(e, g, n) for (e, g), n in sorted(pairs.items())],
                   false_positives=fp, false_negatives=fn, errors=[r.name for r in results if r.got is None])
