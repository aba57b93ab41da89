"""`open_run` owns a run: it closes the control client and the store however the run ends, and each
run keeps its own learned addresses.

A real control helper (ControlServer, TLS from a throwaway CA) and real origins on 127.0.0.1, a real
SQLite store; the helper is allowed to fetch loopback, so its answers name the probe's address as it
saw it (127.0.0.1), which the run then scrubs as its own.
"""

from __future__ import annotations

import asyncio
import sqlite3
import ssl
from pathlib import Path

import pytest
from test_control_fixtures import TestCA

from probe.cli.session import RunSession, open_run
from probe.control.server.guard import AddressGuard, parse_cidrs
from probe.control.server.serve import ControlServer
from probe.control.server.settings import HelperSettings
from probe.measure.runner import run_targets
from probe.models import Target
from probe.models.settings import MeasureSettings


@pytest.fixture(autouse=True)
def _key_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_KEY", str(tmp_path / "cfg" / "probe_ed25519.key"))  # none made: unsigned


async def _helper(tmp_path: Path) -> tuple[ControlServer, MeasureSettings]:
    ca = TestCA(tmp_path)
    cert = ca.issue("helper", ips=("127.0.0.1",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert, cert.key)
    helper = ControlServer(settings=HelperSettings(guard=AddressGuard(allow=parse_cidrs(["127.0.0.0/8"]))),
                           ssl_context=context)
    [(_, port)] = await helper.start([("127.0.0.1", 0)])
    settings = MeasureSettings(control_urls=[f"https://127.0.0.1:{port}/"], ca_bundle=ca.bundle,
                               resolver="127.0.0.1:9", allow_private_targets=True)
    return helper, settings


async def _page(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\nConnection: close\r\n\r\n<title>t</title>")
    await writer.drain()
    writer.close()


async def _hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(60)


def test_a_run_cancelled_mid_way_still_closes_its_control_client_and_store(tmp_path: Path) -> None:
    async def main() -> RunSession:
        helper, settings = await _helper(tmp_path)
        origin = await asyncio.start_server(_hang, "127.0.0.1", 0)
        port = origin.sockets[0].getsockname()[1]
        held: list[RunSession] = []

        async def run() -> None:
            async with open_run(settings=settings, store=tmp_path / "probe.sqlite", key_path=None) as session:
                held.append(session)
                await run_targets([Target(url=f"http://127.0.0.1:{port}/")],
                                  session.context(list_name=None, stop=asyncio.Event()))

        task = asyncio.create_task(run())
        try:
            while not held:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # the measurement now waits on the silent origin
            control = held[0].control
            assert control is not None and not control.closed
            task.cancel()  # what a second Ctrl-C does
            with pytest.raises(asyncio.CancelledError):
                await task
        finally:
            origin.close()
            await helper.close()
        return held[0]

    session = asyncio.run(main())
    assert session.control is not None and session.control.closed
    with pytest.raises(sqlite3.ProgrammingError):  # closed: "Cannot operate on a closed database"
        session.store.runs()


def test_two_runs_in_one_process_do_not_share_learned_addresses(tmp_path: Path) -> None:
    async def main() -> tuple[set[str], set[str]]:
        helper, settings = await _helper(tmp_path)
        origin = await asyncio.start_server(_page, "127.0.0.1", 0)
        port = origin.sockets[0].getsockname()[1]
        try:
            async with open_run(settings=settings, store=tmp_path / "a.sqlite", key_path=None) as first:
                await run_targets([Target(url=f"http://127.0.0.1:{port}/")],
                                  first.context(list_name=None, stop=asyncio.Event()))
            async with open_run(settings=settings, store=tmp_path / "b.sqlite", key_path=None) as second:
                return set(first.own_addresses), set(second.context(list_name=None, stop=asyncio.Event()).own_addresses)
        finally:
            origin.close()
            await helper.close()

    first, second = asyncio.run(main())
    assert first == {"127.0.0.1"}  # the helper saw us there: scrubbed from that run's measurements
    assert second == set()
