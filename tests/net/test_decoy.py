"""The decoy GET: a slow request is followed by GET / under the decoy name to the same address."""

from __future__ import annotations

import asyncio

from conftest import serve

from probe.measure.url import measure_url
from probe.models import ProbeNetwork
from probe.models.settings import MeasureSettings

PAGE = b"<html><head><title>Held</title></head><body>" + b"p" * 20000 + b"</body></html>"


def _by_host(hold_s: float) -> object:
    """Holds the answer `hold_s` for Host 127.0.0.1 (the real name here), answers other Hosts at once."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if b"\r\nhost: 127.0.0.1" in head.lower():
            await asyncio.sleep(hold_s)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(PAGE)).encode()
                     + b"\r\nConnection: close\r\n\r\n" + PAGE)
        await writer.drain()
        writer.close()
    return handle


def _measure(hold_s: float):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        server, port = await serve(_by_host(hold_s))  # type: ignore[arg-type]
        async with server:
            return await measure_url(f"http://127.0.0.1:{port}/", settings=MeasureSettings(decoy_sni="decoy.test"),
                                     resolver=None, control=None, network=ProbeNetwork())
    return asyncio.run(go()).measurement


def test_a_slow_request_gets_a_decoy_request_to_the_same_address() -> None:
    m = _measure(1.2)
    [real] = m.requests
    assert real.t_response is not None and real.t_response - real.t0 >= 1.1 and real.t >= real.t_response
    [decoy] = m.decoy_requests
    assert decoy.ip == real.ip and decoy.port == real.port and decoy.t0 >= real.t
    assert {h.name: h.value for h in decoy.request.headers}["Host"].startswith("decoy.test:")
    assert decoy.response is not None and decoy.response.body_length == len(PAGE)
    assert decoy.t_response is not None and decoy.t_response - decoy.t0 < 0.5


def test_a_fast_request_gets_none() -> None:
    m = _measure(0.0)
    assert m.requests[0].t_response is not None and m.decoy_requests == []
