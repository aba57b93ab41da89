"""Run a list of targets with bounded concurrency, handing each finished measurement to a sink.

A fixed pool of workers pulls targets from an iterator, so memory does not grow with the list. Each
finished measurement is identified (ASN from the control's view of our address), scrubbed of the
probe's addresses, classified, handed to the run's sink (`probe.measure.sink.RunSink`: the store,
in the probe) and reported before the next one starts in that worker. A URL that waits on a silent
network lends its place to the next one meanwhile (`probe.measure.slot`). A stop request (Ctrl-C,
SIGTERM) stops taking new targets; finished measurements are always kept. The sink may keep them in
batches at most `commit_interval_s` old (the store does: store/writes.py; a SIGKILL loses at most that
last interval's finished measurements). What a run holds open
(store, control client, key) is opened and closed by its owner (`probe.cli.session.open_run`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from probe.errors import StoreError
from probe.failures import scrub_addresses
from probe.measure.privacy import scrub_dumped
from probe.measure.sink import AddressMemory, Kept, RunSink
from probe.measure.slot import QUIET_AFTER_S, Slot
from probe.measure.url import ControlSource, MeasuredURL, measure_url
from probe.models import Measurement, ProbeNetwork, Target, Verdict
from probe.models.netcheck import NetworkDown
from probe.models.settings import MeasureSettings

COMMIT_INTERVAL_S = 0.25

Classifier = Callable[[Measurement, Mapping[str, bytes]], Verdict]
Identify = Callable[[str | None], ProbeNetwork]  # the probe's public IP (or None) → network identity


@dataclass
class RunOutcome:
    entry: Kept
    measurement: Measurement
    verdict: Verdict | None


@dataclass
class RunSummary:
    run_id: str
    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False
    network_down: NetworkDown | None = None  # nothing answered when the run started (a shutdown)


@dataclass
class RunContext:
    settings: MeasureSettings
    sink: RunSink
    resolver: str | None
    control: ControlSource | None = None
    classifier: Classifier | None = None
    identify: Identify | None = None
    on_result: Callable[[RunOutcome], None] | None = None
    on_error: Callable[[Target, str], None] | None = None
    list_name: str | None = None
    stop: asyncio.Event | None = None
    run_id: str | None = None  # continue this run (after a crash): its measured inputs are skipped
    # The probe's own addresses learned so far (local sockets, the control's view of us). Every
    # measurement is scrubbed of all of them, also one whose own control query failed. This run's
    # own set, in plain text in memory only; on disk as keyed hashes (`own_memory`), so later runs
    # (and the daemon's next one) scrub them too, even when they cannot learn them.
    own_addresses: set[str] = field(default_factory=set)
    own_memory: AddressMemory | None = None
    # The run-level shutdown check (probe.measure.netcheck), made once before measuring; None: none.
    check_network: Callable[[], Awaitable[NetworkDown | None]] | None = None
    # Finished measurements share one store transaction for at most this long (one commit each cost
    # more CPU than any other step of storing one); a SIGKILL loses at most this interval's. 0: each alone.
    commit_interval_s: float = COMMIT_INTERVAL_S
    # A step silent this long lends its --parallel slot to the next URL (`probe.measure.slot`).
    quiet_after_s: float = QUIET_AFTER_S


async def run_targets(targets: Iterable[Target], ctx: RunContext) -> RunSummary:
    summary = RunSummary(run_id=ctx.run_id or str(uuid.uuid4()))
    loop = asyncio.get_running_loop()
    _ensure_resolver_threads(loop, ctx.settings.parallel)
    done = ctx.sink.begin(summary.run_id, ctx.list_name)
    source = (t for t in targets if t.url not in done)
    stop = ctx.stop or asyncio.Event()
    # A store failure halts this run only: `stop` may be the daemon's own (shared by every list), and
    # setting it would end all measuring until a restart.
    # Until a control answer says where we are: where the helpers saw us before the run (None: unknown).
    start = ctx.identify(None) if ctx.identify is not None else ProbeNetwork()
    state = _State(ctx=ctx, summary=summary, network=start.model_copy(update={"resolver_address": ctx.resolver or ""}),
                   stop=stop, halt=asyncio.Event())
    tasks: set[asyncio.Task[None]] = set()
    status = "finished"
    stop_batching = ctx.sink.batch(ctx.commit_interval_s, on_error=lambda exc: _halt(state, exc))
    try:
        if ctx.check_network is not None:
            # Measured anyway: each run during a shutdown is evidence of when it held.
            summary.network_down = await ctx.check_network()
        await _feed(source, state, tasks)
        await asyncio.gather(*tasks)
        if state.fatal is not None:
            raise state.fatal  # the store failed: nothing more can be kept, so the run stops here
        if stop.is_set():
            status = "interrupted"
    except asyncio.CancelledError:
        status = "interrupted"
        await _cancel_all(tasks)
        raise
    except BaseException:
        status = "failed"
        await _cancel_all(tasks)
        raise
    finally:
        stop_batching()  # the sink's end() keeps the last batch first
        summary.interrupted = status == "interrupted"
        _finish(ctx.sink, summary.run_id, status)
    return summary


def _finish(sink: RunSink, run_id: str, status: str) -> None:
    """Close the run; when it already failed, a store that cannot write that is not the news.

    The row then stays `running` and is closed as interrupted by whoever opens the store next.
    """
    try:
        sink.end(run_id, status)
    except StoreError:
        if status != "failed":
            raise


async def _cancel_all(tasks: set[asyncio.Task[None]]) -> None:
    for t in list(tasks):
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


_EXECUTORS: dict[int, ThreadPoolExecutor] = {}


def _ensure_resolver_threads(loop: asyncio.AbstractEventLoop, parallel: int) -> None:
    """getaddrinfo runs in threads: give it enough that DNS is not the bottleneck (once per loop)."""
    if id(loop) not in _EXECUTORS:
        _EXECUTORS.clear()  # a previous loop's pool (a daemon runs one loop; tests run many in turn)
        _EXECUTORS[id(loop)] = ThreadPoolExecutor(max_workers=min(64, max(4, parallel)),
                                                  thread_name_prefix="getaddrinfo")
        loop.set_default_executor(_EXECUTORS[id(loop)])


@dataclass
class _State:
    ctx: RunContext
    summary: RunSummary
    network: ProbeNetwork
    stop: asyncio.Event  # the caller's: Ctrl-C, SIGTERM
    halt: asyncio.Event  # this run's own: the store failed
    fatal: BaseException | None = None


def _halt(state: _State, exc: StoreError) -> None:
    """The store failed: this run stops taking targets (the caller's `stop` is left alone)."""
    state.fatal = state.fatal or exc
    state.halt.set()


def _next(source: Iterator[Target]) -> Target | None:
    return next(source, None)


# Measurements whose own steps are over but which still wait (racing DNS replies, the control's
# answer), and those that lent their slot while a censor keeps them waiting (`probe.measure.slot`),
# do not count against --parallel; this bounds how many may be open at once.
SETTLING_FACTOR = 4


async def _feed(source: Iterator[Target], state: _State, tasks: set[asyncio.Task[None]]) -> None:
    """Start one task per target while at most `parallel` are active; returns when the list is done."""
    ctx = state.ctx
    active = asyncio.Semaphore(ctx.settings.parallel)
    inflight = asyncio.Semaphore(ctx.settings.parallel * SETTLING_FACTOR)
    while not state.stop.is_set() and not state.halt.is_set():
        target = _next(source)
        if target is None:
            return
        await inflight.acquire()
        slot = await Slot.take(active, quiet_after_s=ctx.quiet_after_s)
        task = asyncio.create_task(_measure_one(target, state, slot, inflight))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _measure_one(target: Target, state: _State, slot: Slot, inflight: asyncio.Semaphore) -> None:
    ctx = state.ctx
    try:
        measured = await measure_url(target.url, settings=ctx.settings, resolver=ctx.resolver, control=ctx.control,
                                     network=state.network, category_code=target.category_code or None,
                                     slot=slot)
        _commit(measured, state)
    except StoreError as exc:
        _halt(state, exc)
    except Exception as exc:  # noqa: BLE001 - a bug must cost one URL, never the run
        state.summary.counts["error"] += 1
        if ctx.on_error:
            ctx.on_error(target, f"{target.url}: not measured: internal error {type(exc).__name__}: "
                                 f"{scrub_addresses(str(exc))}")
    finally:
        slot.give_up()
        inflight.release()


def _commit(measured: MeasuredURL, state: _State) -> None:
    ctx = state.ctx
    if ctx.identify is not None and measured.public_ip:
        # The latest view of our public address decides the network; without a control, keep the last.
        state.network = ctx.identify(measured.public_ip).model_copy(
            update={"resolver_address": ctx.resolver or ""})
    measurement = measured.measurement.model_copy(update={"network": state.network,
                                                          "network_down": state.summary.network_down})
    learned = measured.own_addresses - ctx.own_addresses
    ctx.own_addresses |= measured.own_addresses
    if learned and ctx.own_memory is not None:
        with contextlib.suppress(OSError):  # this run still scrubs them; later runs may not know them
            ctx.own_memory.remember(learned)
    measurement, artifacts, dumped = scrub_dumped(measurement, measured.artifacts, ctx.own_addresses,
                                                  ctx.own_memory)
    verdict = None
    if ctx.classifier is not None:
        bodies = {a.sha256: a.data for a in artifacts if a.kind == "http_body"}
        try:
            verdict = ctx.classifier(measurement, bodies)
        except Exception as exc:  # noqa: BLE001 - keep the evidence; `probe reclassify` can try again
            if ctx.on_error:
                ctx.on_error(Target(url=measurement.input), f"{measurement.input}: stored unclassified: "
                             f"{type(exc).__name__}: {scrub_addresses(str(exc))}")
    entry = ctx.sink.keep(measurement, artifacts, verdict, run_id=state.summary.run_id, dumped=dumped)
    state.summary.total += 1
    state.summary.counts[verdict.label if verdict else "unclassified"] += 1
    if ctx.on_result:
        ctx.on_result(RunOutcome(entry=entry, measurement=measurement, verdict=verdict))

