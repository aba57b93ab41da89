"""The UDP DNS step against a real UDP server on loopback: answers, rcodes, injection, junk, silence."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import dns.message
import dns.rcode
import dns.rrset

from probe.models.settings import split_resolver
from probe.net.artifacts import ArtifactSink
from probe.net.clock import measurement_clock
from probe.net.dns import query_udp, system_nameserver

Reply = Callable[[dns.message.Message], list[tuple[float, bytes]]]  # (delay, datagram) pairs


def _answer(query: dns.message.Message, ip: str, rcode: int = dns.rcode.NOERROR) -> bytes:
    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    if rcode == dns.rcode.NOERROR and ip:
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 300, "IN", "A", ip))
    return reply.to_wire()


class _Server(asyncio.DatagramProtocol):
    def __init__(self, behaviour: Reply) -> None:
        self.behaviour = behaviour
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        loop = asyncio.get_running_loop()
        for delay, datagram in self.behaviour(query):
            loop.call_later(delay, self.transport.sendto, datagram, addr)  # type: ignore[union-attr]


def _run(behaviour: Reply, *, timeout: float = 1.0, late: float = 0.5):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Server(behaviour), local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        sink = ArtifactSink()
        try:
            obs = await query_udp("selftanu.kz", "A", resolver=f"127.0.0.1:{port}", timeout_s=timeout,
                                  late_window_s=late, clock=measurement_clock(), sink=sink)
            return obs, sink
        finally:
            transport.close()
    return asyncio.run(go())


def test_answer_with_ttl_and_wire_bytes() -> None:
    obs, sink = _run(lambda q: [(0, _answer(q, "198.18.0.10"))])
    assert obs.failure is None and obs.rcode == "NOERROR"
    assert obs.addresses() == ["198.18.0.10"] and obs.answers[0].ttl == 300
    assert sink.get(obs.raw_reply_sha256 or "") is not None
    assert obs.late_replies == []


def test_nxdomain() -> None:
    obs, _ = _run(lambda q: [(0, _answer(q, "", dns.rcode.NXDOMAIN))])
    assert obs.failure == "dns_nxdomain_error" and obs.rcode == "NXDOMAIN"


def test_servfail_and_refused() -> None:
    assert _run(lambda q: [(0, _answer(q, "", dns.rcode.SERVFAIL))])[0].failure == "dns_servfail_error"
    assert _run(lambda q: [(0, _answer(q, "", dns.rcode.REFUSED))])[0].failure == "dns_refused_error"


def test_injected_reply_races_the_real_one_and_both_are_kept() -> None:
    obs, sink = _run(lambda q: [(0, _answer(q, "127.0.0.1")), (0.1, _answer(q, "198.18.0.10"))])
    assert obs.addresses() == ["127.0.0.1"]  # what a stub resolver would have believed
    assert len(obs.late_replies) == 1
    late = obs.late_replies[0]
    assert [a.ipv4 for a in late.answers] == ["198.18.0.10"] and sink.get(late.raw_sha256 or "")


def test_reply_after_the_window_is_not_waited_for() -> None:
    obs, _ = _run(lambda q: [(0, _answer(q, "198.18.0.10")), (0.6, _answer(q, "198.18.0.11"))], late=0.2)
    assert obs.late_replies == []


def test_junk_datagram_is_kept_and_the_valid_reply_still_answers() -> None:
    obs, sink = _run(lambda q: [(0, b"\x00\x01garbage"), (0.05, _answer(q, "198.18.0.10"))])
    assert obs.addresses() == ["198.18.0.10"]
    assert [r.rcode for r in obs.late_replies] == ["MALFORMED"]


def test_reply_with_wrong_id_is_not_taken_as_the_answer() -> None:
    def wrong_id(q: dns.message.Message) -> list[tuple[float, bytes]]:
        other = dns.message.make_query("selftanu.kz", "A")
        other.id = (q.id + 1) % 65536
        return [(0, _answer(other, "198.18.0.66"))]
    obs, _ = _run(wrong_id, timeout=0.4)
    assert obs.failure == "generic_timeout_error"


def test_silence_is_a_timeout() -> None:
    obs, _ = _run(lambda q: [], timeout=0.3)
    assert obs.failure == "generic_timeout_error" and obs.rcode is None


def test_resolver_parsing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert split_resolver("10.77.1.1") == ("10.77.1.1", 53)
    assert split_resolver("10.77.1.1:5353") == ("10.77.1.1", 5353)
    assert split_resolver("[fd77:1::1]:53") == ("fd77:1::1", 53)
    assert split_resolver("fd77:1::1") == ("fd77:1::1", 53)
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch lan\nnameserver 10.77.1.1\nnameserver 10.77.1.9\n")
    assert system_nameserver(conf) == "10.77.1.1"
    assert system_nameserver(tmp_path / "missing") is None


def test_a_name_that_cannot_be_asked_is_an_observation() -> None:
    async def go():  # type: ignore[no-untyped-def]
        return await query_udp("a" * 64 + ".kz", "A", resolver="127.0.0.1:9", timeout_s=0.2, late_window_s=0,
                               clock=measurement_clock(), sink=ArtifactSink())
    obs = asyncio.run(go())
    assert obs.failure == "unknown_failure: invalid host name"


def test_a_flood_of_replies_is_bounded() -> None:
    obs, _ = _run(lambda q: [(0, _answer(q, "198.18.0.10"))] + [(0.01, _answer(q, "198.18.0.11"))] * 200)
    assert len(obs.late_replies) < 40
