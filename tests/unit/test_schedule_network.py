"""The pre-flight network check on loopback: a listening control is up, a closed port is down."""

from __future__ import annotations

import asyncio
import socket

from probe.measure.netcheck import endpoints
from probe.schedule.network import Backoff, controls_reachable


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_endpoints_take_default_ports_and_drop_duplicates() -> None:
    urls = ["https://192.0.2.1/", "http://192.0.2.1/x", "https://192.0.2.1/api", "https://[2001:db8::1]:8443/"]
    assert endpoints(urls) == [("192.0.2.1", 443), ("192.0.2.1", 80), ("2001:db8::1", 8443)]


def test_one_answering_control_means_the_network_is_up() -> None:
    async def main() -> tuple[bool | None, bool | None, bool | None]:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        closed = _closed_port()
        try:
            up = await controls_reachable([f"http://127.0.0.1:{closed}/", f"https://127.0.0.1:{port}/"], 2.0)
            down = await controls_reachable([f"https://127.0.0.1:{closed}/"], 2.0)
            unknown = await controls_reachable([], 2.0)
        finally:
            server.close()
            await server.wait_closed()
        return up, down, unknown
    assert asyncio.run(main()) == (True, False, None)


def test_backoff_doubles_up_to_its_cap_and_resets() -> None:
    backoff = Backoff(initial_s=60, maximum_s=300)
    assert [backoff.next_delay() for _ in range(5)] == [60, 120, 240, 300, 300]
    backoff.reset()
    assert backoff.next_delay() == 60
