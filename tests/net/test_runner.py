"""The runner on loopback: bounded concurrency, streamed commits, clean stop, continuing a run."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from conftest import http_handler, serve

from probe.measure.runner import RunContext, RunOutcome, run_targets
from probe.models import Target
from probe.models.canonical import GENESIS_HASH, chain_hash
from probe.models.settings import MeasureSettings, Timeouts
from probe.store import Store
from probe.store.sink import StoreSink

SETTINGS = MeasureSettings(parallel=8, timeouts=Timeouts(dns_s=1, tcp_s=1, tls_s=1, http_s=2))


def _targets(port: int, n: int) -> list[Target]:
    return [Target(url=f"http://127.0.0.1:{port}/page/{i}", category_code="HUMR") for i in range(n)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PORT = _free_port()


def _run(store: Store, n: int, *, stop_after: int | None = None, run_id: str | None = None):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        server, port = await serve(http_handler(b"<title>t</title>"), port=PORT)
        stop = asyncio.Event()
        seen: list[RunOutcome] = []

        def on_result(outcome: RunOutcome) -> None:
            seen.append(outcome)
            if stop_after is not None and len(seen) >= stop_after:
                stop.set()

        ctx = RunContext(settings=SETTINGS, sink=StoreSink(store, signer=None), resolver=None, on_result=on_result,
                         stop=stop,
                         run_id=run_id)
        try:
            return await run_targets(iter(_targets(port, n)), ctx), seen
        finally:
            server.close()
    return asyncio.run(go())


def test_every_target_is_measured_and_committed_in_one_chain(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        summary, seen = _run(store, 40)
        assert summary.total == 40 and not summary.interrupted and len(seen) == 40
        prev = GENESIS_HASH
        for entry in store.entries():
            assert entry.prev_hash == prev and entry.chain_hash == chain_hash(prev, entry.record_sha256)
            assert entry.category_code == "HUMR"
            prev = entry.chain_hash
        assert store.count() == 40
        assert store.runs()[0]["status"] == "finished"


def test_stop_keeps_finished_measurements_and_the_run_can_continue(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        summary, _ = _run(store, 60, stop_after=5)
        assert summary.interrupted
        first = store.count()
        assert 5 <= first < 60
        assert store.runs()[0]["status"] == "interrupted"
        again, _ = _run(store, 60, run_id=summary.run_id)
        assert store.count() == 60  # the rest, and nothing twice
        assert again.total == 60 - first
        assert len({e.input for e in store.entries()}) == 60


def test_hostile_redirects_are_recorded_and_a_failing_classifier_costs_no_evidence(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], list[str]]:
        async def hostile(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ")[1].decode()
            location = {"/port": "http://x:99999/", "/bracket": "http://[::1/x", "/label": "http://a..b.kz/"}[path]
            writer.write(f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            writer.close()

        server, port = await serve(hostile)
        errors: list[str] = []

        def broken_classifier(measurement: object, bodies: object) -> object:
            raise RuntimeError("rules bug")

        with Store.open(tmp_path / "s.sqlite") as store:
            ctx = RunContext(settings=SETTINGS, sink=StoreSink(store, signer=None), resolver=None,
                             classifier=broken_classifier,  # type: ignore[arg-type]
                             on_error=lambda _t, message: errors.append(message))
            targets = [Target(url=f"http://127.0.0.1:{port}/{p}") for p in ("port", "bracket", "label")]
            try:
                await run_targets(iter(targets), ctx)
            finally:
                server.close()
            failures = [e.measurement().final_failure or "" for e in store.entries()]
        return failures, errors

    failures, errors = asyncio.run(go())
    assert failures == ["http_invalid_redirect_location_host"] * 3
    assert len(errors) == 3 and all("stored unclassified" in e for e in errors)


def _silent_first(tmp_path: Path, *, quiet_after_s: float) -> list[str]:
    """--parallel 1: a host that swallows the ClientHello, then five answering ones; the order in which
    their measurements finish."""
    async def go() -> list[str]:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(65536)  # the ClientHello, never answered: the probe waits for its TLS timeout
            await asyncio.sleep(5)

        quiet, quiet_port = await serve(silent)
        page, page_port = await serve(http_handler(b"<title>t</title>"))
        finished: list[str] = []
        targets = [Target(url=f"https://127.0.0.1:{quiet_port}/"),
                   *(Target(url=f"http://127.0.0.1:{page_port}/{i}") for i in range(5))]
        with Store.open(tmp_path / f"s{quiet_after_s}.sqlite") as store:
            ctx = RunContext(settings=SETTINGS.model_copy(update={"parallel": 1}), sink=StoreSink(store, signer=None),
                             resolver=None, quiet_after_s=quiet_after_s,
                             on_result=lambda outcome: finished.append(outcome.measurement.input))
            try:
                await run_targets(iter(targets), ctx)
            finally:
                quiet.close()
                page.close()
            assert store.count() == 6
        return finished
    return asyncio.run(go())


def test_a_url_waiting_on_a_silent_host_lends_its_place(tmp_path: Path) -> None:
    lending = _silent_first(tmp_path, quiet_after_s=0.1)
    assert lending[-1].startswith("https://") and len(lending) == 6  # the others went on meanwhile
    holding = _silent_first(tmp_path, quiet_after_s=60)  # never lends within the 1 s TLS timeout
    assert holding[0].startswith("https://")
