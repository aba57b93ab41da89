"""The shutdown check on loopback: closed ports stand in for a silent network, a listener for a live one."""

from __future__ import annotations

import asyncio
import socket

from conftest import http_handler, serve

from probe.measure.netcheck import check_network


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_nothing_answers_is_one_network_down_observation_with_every_check() -> None:
    dead = _closed_port()
    down = asyncio.run(check_network(control_urls=[f"https://127.0.0.1:{dead}/"], resolver=f"127.0.0.1:{dead}",
                                     name="decoy.test", well_known=[f"127.0.0.1:{dead}"], timeout_s=1.0))
    assert down is not None and not down.dns_answers
    assert [c.kind for c in down.checks] == ["control", "resolver", "tcp"]
    assert all(c.failure for c in down.checks)


def test_a_live_well_known_address_means_only_the_helpers_are_unreachable() -> None:
    async def go() -> object:
        server, port = await serve(http_handler(b"ok"))
        async with server:
            dead = _closed_port()
            return await check_network(control_urls=[f"https://127.0.0.1:{dead}/"], resolver=None,
                                       name="localhost", well_known=[f"127.0.0.1:{port}"], timeout_s=1.0)
    assert asyncio.run(go()) is None


def test_a_live_helper_is_enough_and_nothing_else_is_tried() -> None:
    contacted: list[int] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        contacted.append(1)
        writer.close()

    async def go() -> object:
        server, port = await serve(http_handler(b"ok"))
        other, other_port = await serve(count)
        async with server, other:
            return await check_network(control_urls=[f"https://127.0.0.1:{port}/"], resolver=None,
                                       name="localhost", well_known=[f"127.0.0.1:{other_port}"], timeout_s=1.0)
    assert asyncio.run(go()) is None
    assert contacted == []  # the well-known set is only tried when no helper answers
