"""The helper's shared-socket DNS (probe.control.server.dnsudp) against a real UDP server on loopback.

Each behaviour is also asked through the probe's own step (`query_udp` with the helper's settings),
and both must give the same addresses and failure: the shared sockets change the cost, not the answer.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable

import dns.message
import dns.rcode
import dns.rrset

from probe import failures
from probe.control.server import dnsudp
from probe.control.server.dnsudp import UDPAnswer, query_addresses
from probe.net.artifacts import ArtifactSink
from probe.net.clock import measurement_clock
from probe.net.dns import INVALID_HOST_NAME, query_udp

Behaviour = Callable[[dns.message.Message, bytes], list[tuple[float, bytes]]]  # → (delay, datagram)


def _answer(query: dns.message.Message, ip: str, rcode: int = dns.rcode.NOERROR) -> bytes:
    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    if rcode == dns.rcode.NOERROR and ip:
        name = query.question[0].name
        if query.question[0].rdtype == dns.rdatatype.A:
            reply.answer.append(dns.rrset.from_text(name, 300, "IN", "A", ip))
    return reply.to_wire()


class _Server(asyncio.DatagramProtocol):
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.transport: asyncio.DatagramTransport | None = None
        self.sources: set[tuple[str, int]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sources.add(addr)
        loop = asyncio.get_running_loop()
        for delay, datagram in self.behaviour(dns.message.from_wire(data), data):
            loop.call_later(delay, self.transport.sendto, datagram, addr)  # type: ignore[union-attr]


async def _serve(behaviour: Behaviour) -> tuple[asyncio.DatagramTransport, _Server, str]:
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(lambda: _Server(behaviour),
                                                            local_addr=("127.0.0.1", 0))
    return transport, server, f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"


async def _probe_step(host: str, qtype: str, resolver: str, timeout: float) -> UDPAnswer:
    obs = await query_udp(host, qtype, resolver=resolver, timeout_s=timeout, late_window_s=0.0,  # type: ignore[arg-type]
                          clock=measurement_clock(), sink=ArtifactSink())
    return UDPAnswer(obs.failure, obs.addresses())


def _both(behaviour: Behaviour, host: str = "selftanu.kz", qtype: str = "A",
          timeout: float = 0.5) -> tuple[UDPAnswer, UDPAnswer]:
    async def go() -> tuple[UDPAnswer, UDPAnswer]:
        transport, _, resolver = await _serve(behaviour)
        try:
            ours = await query_addresses(host, qtype, resolver=resolver, timeout_s=timeout)  # type: ignore[arg-type]
            theirs = await _probe_step(host, qtype, resolver, timeout)
            return ours, theirs
        finally:
            transport.close()
    return asyncio.run(go())


def test_answer() -> None:
    ours, theirs = _both(lambda q, _: [(0, _answer(q, "198.18.0.10"))])
    assert ours == theirs == UDPAnswer(None, ["198.18.0.10"])


def test_rcodes_and_no_answer() -> None:
    for rcode, failure in ((dns.rcode.NXDOMAIN, failures.DNS_NXDOMAIN),
                           (dns.rcode.SERVFAIL, None), (dns.rcode.REFUSED, None)):
        ours, theirs = _both(lambda q, _, r=rcode: [(0, _answer(q, "", r))])  # type: ignore[misc]
        assert ours == theirs and ours.addresses == [] and ours.failure is not None
        assert failure is None or ours.failure == failure
    ours, theirs = _both(lambda q, _: [(0, _answer(q, "198.18.0.10"))], qtype="AAAA")
    assert ours == theirs == UDPAnswer(failures.DNS_NO_ANSWER, [])


def test_junk_wrong_id_and_wrong_question_are_ignored_until_the_real_reply() -> None:
    def behaviour(q: dns.message.Message, wire: bytes) -> list[tuple[float, bytes]]:
        wrong_id = bytearray(_answer(q, "10.6.6.6"))
        wrong_id[0:2] = struct.pack("!H", (q.id + 1) % 65536)
        other = dns.message.make_query("other.example", "A")
        other.id = q.id
        wrong_question = _answer(other, "10.7.7.7")
        return [(0, b"\x00"), (0, b"junk junk junk"), (0, bytes(wrong_id)), (0, wrong_question),
                (0.05, _answer(q, "198.18.0.10"))]
    ours, theirs = _both(behaviour)
    assert ours == theirs == UDPAnswer(None, ["198.18.0.10"])


def test_silence_is_a_timeout() -> None:
    ours, theirs = _both(lambda q, _: [], timeout=0.2)
    assert ours == theirs == UDPAnswer(failures.GENERIC_TIMEOUT, [])


def test_a_name_that_cannot_be_asked() -> None:
    ours, theirs = _both(lambda q, _: [], host="a" * 64 + ".kz")
    assert ours == theirs == UDPAnswer(INVALID_HOST_NAME, [])


def test_no_resolver_listening_is_reported_as_the_probe_reports_it() -> None:
    async def go() -> tuple[UDPAnswer, UDPAnswer]:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            resolver = f"127.0.0.1:{s.getsockname()[1]}"
        ours = await query_addresses("selftanu.kz", "A", resolver=resolver, timeout_s=0.3)
        return ours, await _probe_step("selftanu.kz", "A", resolver, 0.3)
    ours, theirs = asyncio.run(go())
    assert ours == theirs and ours.failure is not None and ours.addresses == []


def test_many_queries_at_once_each_get_their_own_answer_and_sockets_rotate() -> None:
    """More queries in flight than one socket serves, forced onto colliding ids: each gets its own
    name's answer; several source ports were used, and no socket stays open once all are answered."""
    count = dnsudp.QUERIES_PER_SOCKET * 3

    def behaviour(q: dns.message.Message, _: bytes) -> list[tuple[float, bytes]]:
        index = int(q.question[0].name.labels[0].decode().removeprefix("h"))
        return [(0.01 * (index % 7), _answer(q, f"10.0.{index // 250}.{index % 250}"))]

    async def go() -> None:
        transport, server, resolver = await _serve(behaviour)
        real = dnsudp.make_query

        def colliding(host: str, qtype: str) -> dnsudp.Query:  # every query starts with the same id
            query = real(host, qtype)
            return dnsudp.Query(id=7, wire=struct.pack("!H", 7) + query.wire[2:], qname=query.qname,
                                qtype=query.qtype)
        dnsudp.make_query = colliding  # type: ignore[assignment]
        try:
            answers = await asyncio.gather(*(query_addresses(f"h{i}.test", "A", resolver=resolver, timeout_s=2.0)
                                             for i in range(count)))
        finally:
            dnsudp.make_query = real
            transport.close()
        assert answers == [UDPAnswer(None, [f"10.0.{i // 250}.{i % 250}"]) for i in range(count)]
        assert len(server.sources) >= 3
        pool = dnsudp._pool(resolver)
        current = pool.current
        assert current is None or not current.waiting
        if current is not None:
            current.close()
    asyncio.run(go())


def test_a_cancelled_query_stops_waiting() -> None:
    async def go() -> None:
        transport, _, resolver = await _serve(lambda q, _: [])
        try:
            task = asyncio.ensure_future(query_addresses("selftanu.kz", "A", resolver=resolver, timeout_s=5))
            await asyncio.sleep(0.05)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            current = dnsudp._pool(resolver).current
            assert current is not None and not current.waiting
            current.close()
            assert dnsudp._pool(resolver).current is None
        finally:
            transport.close()
    asyncio.run(go())
