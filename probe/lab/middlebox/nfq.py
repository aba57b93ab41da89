"""NFQUEUE handlers of the middlebox: on-path DNS injection, a one-way delayer, and an rcode stub.

* Injection (dns_inject): netfilter queues the client's DNS queries that carry a censored name; we
  send a forged reply from the resolver's address at once (raw socket), then let the query go on,
  so the real reply arrives later: the probe sees two answers, the first one forged (what the Great
  Firewall and some Kazakh ISPs do).
* Delay (network.rtt_ms): every packet to and from the client is held `delay_ms` (half the RTT) and
  then accepted, in order; a stand-in for netem, which this kernel lacks. Loss is iptables
  `statistic`, not here.
* Stub: a UDP DNS server answering every query with a fixed rcode (SERVFAIL, REFUSED), where dnsmasq
  forwards censored names.
"""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import Callable
from typing import Any, cast

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from probe.lab.middlebox.wire import host_matches, ipv4_udp, ipv6_udp, parse_ipv4_udp, parse_ipv6_udp


def forged_reply(query_wire: bytes, rules: list[dict[str, Any]]) -> bytes | None:
    """The forged DNS reply for a query that a rule matches, or None."""
    try:
        query = dns.message.from_wire(query_wire)
    except Exception:  # noqa: BLE001 - not DNS (or not parseable): leave it alone
        return None
    if not query.question:
        return None
    q = query.question[0]
    name = q.name.to_text(omit_final_dot=True)
    for rule in rules:
        if not host_matches(name, rule["match"]):
            continue
        addr = rule.get("v4") if q.rdtype == dns.rdatatype.A else (
            rule.get("v6") if q.rdtype == dns.rdatatype.AAAA else None)
        if not addr:
            return None
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.RA
        reply.answer.append(dns.rrset.from_text(q.name, 300, "IN", q.rdtype, addr))
        return reply.to_wire()
    return None


class Injector:
    """Queries over IPv4 and IPv6 alike (ip6tables queues to the same number): the forged reply goes
    out over the query's own family, from the address the query was sent to."""

    def __init__(self, rules: list[dict[str, Any]]) -> None:
        self.rules = rules
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        # IPPROTO_RAW over IPv6 implies IPV6_HDRINCL: we write the whole datagram, as for IPv4.
        self.raw6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.injected = 0

    def __call__(self, pkt: Any) -> None:
        try:
            packet = pkt.get_payload()
            for parse, build, sock in ((parse_ipv4_udp, ipv4_udp, self.raw), (parse_ipv6_udp, ipv6_udp, self.raw6)):
                parsed = parse(packet)
                if parsed is None:
                    continue
                src, sport, dst, dport, payload = parsed
                forged = forged_reply(payload, self.rules)
                if forged is not None:
                    sock.sendto(build(dst, dport, src, sport, forged), (src, 0))
                    self.injected += 1
                break
        finally:
            pkt.accept()  # the real query goes on: the genuine reply will race (and lose)


class Delayer:
    """Holds each packet `delay_s`, then accepts it (verdicts may come after the callback returns).

    Every packet waits the same time, so they leave in the order they came: one FIFO and one timer
    for its head, not a timer per packet. A run of thousands of URLs sends hundreds of thousands of
    packets through here; the lab's own CPU is time the probe and the control helper do not get.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, delay_s: float) -> None:
        self.loop = loop
        self.delay_s = delay_s
        self._held: collections.deque[tuple[float, Any]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, pkt: Any) -> None:
        self._held.append((self.loop.time() + self.delay_s, pkt))
        if self._timer is None:
            self._timer = self.loop.call_at(self._held[0][0], self._release)

    def _release(self) -> None:
        now = self.loop.time() + 1e-6  # the loop may fire a timer a clock tick early
        held = self._held
        while held and held[0][0] <= now:
            held.popleft()[1].accept()
        self._timer = self.loop.call_at(held[0][0], self._release) if held else None


def bind_queue(loop: asyncio.AbstractEventLoop, num: int, callback: Any, *, payload: bool) -> Any:
    from netfilterqueue import COPY_META, COPY_PACKET, NetfilterQueue

    nfq = NetfilterQueue()
    nfq.bind(num, callback, max_len=8192, mode=COPY_PACKET if payload else COPY_META, range=65535)
    loop.add_reader(nfq.get_fd(), lambda: nfq.run(block=False))
    return nfq


class RcodeStub(asyncio.DatagramProtocol):
    def __init__(self, rcode: dns.rcode.Rcode) -> None:
        self.rcode = rcode
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        try:
            reply = dns.message.make_response(dns.message.from_wire(data))
        except Exception:  # noqa: BLE001 - garbage in: no answer, like a real server
            return
        reply.set_rcode(self.rcode)
        if self.transport is not None:
            self.transport.sendto(reply.to_wire(), addr)


async def start_stubs(ports: dict[str, int]) -> None:
    loop = asyncio.get_running_loop()
    for name, port in ports.items():
        await loop.create_datagram_endpoint(_stub_factory(dns.rcode.Rcode.from_text(name)),
                                            local_addr=("127.0.0.1", port))


def _stub_factory(rcode: dns.rcode.Rcode) -> Callable[[], RcodeStub]:
    return lambda: RcodeStub(rcode)
