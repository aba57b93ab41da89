"""DNS steps: the system resolver (getaddrinfo) and DNS over UDP to a given resolver.

The UDP step keeps listening for `late_window_s` after the first reply: an on-path injector answers
first with a forged reply and the real resolver's answer arrives after it, so a second, different
reply for the same query is evidence of injection. Every reply's wire bytes are kept as artifacts.
Queries are built and replies read by probe/net/dnswire.py.
Nothing here raises on a network failure: each step returns its observation.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path

import dns.exception
import dns.rcode

from probe import failures
from probe.models import DNSAnswer, DNSQueryObservation, DNSReply
from probe.models.observations import QueryType
from probe.models.settings import split_resolver
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.dnswire import Query, Reply, make_query, read_reply

RESOLV_CONF = Path("/etc/resolv.conf")
INVALID_HOST_NAME = "unknown_failure: invalid host name"
# A flood of datagrams within the listening window is itself evidence, but keep memory bounded.
MAX_DATAGRAMS = 32


def system_nameserver(resolv_conf: Path = RESOLV_CONF) -> str | None:
    """The first nameserver in resolv.conf (what the volunteer's network hands out), if any."""
    try:
        text = resolv_conf.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            return parts[1]
    return None


async def resolve_getaddrinfo(hostname: str, *, timeout_s: float, clock: Clock) -> DNSQueryObservation:
    """What the volunteer's applications see: the OS resolver, both address families."""
    loop = asyncio.get_running_loop()
    t0 = clock()
    failure: str | None = None
    answers: list[DNSAnswer] = []
    try:
        async with asyncio.timeout(timeout_s):  # not wait_for: no task of its own per step
            infos = await loop.getaddrinfo(hostname, 443, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        seen: set[str] = set()
        for family, _, _, _, sockaddr in infos:
            ip = str(sockaddr[0])
            if ip in seen:
                continue
            seen.add(ip)
            v4 = family == socket.AF_INET
            answers.append(DNSAnswer(answer_type="A" if v4 else "AAAA",
                                     ipv4=ip if v4 else None, ipv6=None if v4 else ip))
    except Exception as exc:  # noqa: BLE001 - every resolver failure is data
        failure = failures.classify_exception(exc)
    return DNSQueryObservation(engine="getaddrinfo", resolver_address="", hostname=hostname,
                               query_type="ANY", t0=t0, t=clock(), failure=failure, answers=answers)


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: asyncio.Queue[tuple[bytes, str, float]] = asyncio.Queue()
        self.error: Exception | None = None
        self.clock: Clock | None = None
        self.received = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        assert self.clock is not None
        self.received += 1
        if self.received <= MAX_DATAGRAMS:
            self.datagrams.put_nowait((data, f"{addr[0]}:{addr[1]}", self.clock()))

    def error_received(self, exc: Exception) -> None:
        self.error = exc  # e.g. ICMP port unreachable: connection_refused


def _answers(reply: Reply) -> list[DNSAnswer]:
    out: list[DNSAnswer] = []
    for kind, value, ttl in reply.answers:
        if kind == "A":
            out.append(DNSAnswer(answer_type="A", ipv4=value, ttl=ttl))
        elif kind == "AAAA":
            out.append(DNSAnswer(answer_type="AAAA", ipv6=value, ttl=ttl))
        else:
            out.append(DNSAnswer(answer_type="CNAME", hostname=value, ttl=ttl))
    return out


async def query_udp(hostname: str, query_type: QueryType, *, resolver: str, timeout_s: float,
                    late_window_s: float, clock: Clock, sink: ArtifactSink,
                    first_reply: asyncio.Future[list[str]] | None = None) -> DNSQueryObservation:
    """One DNS query over UDP; the first valid reply answers it, later ones are kept as late_replies.

    `first_reply`, if given, is resolved with the first reply's addresses as soon as it arrives, so the
    caller can connect while this step keeps listening for racing replies.
    """
    try:
        return await _query_udp(hostname, query_type, resolver=resolver, timeout_s=timeout_s,
                                late_window_s=late_window_s, clock=clock, sink=sink, first_reply=first_reply)
    finally:
        if first_reply is not None and not first_reply.done():
            first_reply.set_result([])


async def _query_udp(hostname: str, query_type: QueryType, *, resolver: str, timeout_s: float,
                     late_window_s: float, clock: Clock, sink: ArtifactSink,
                     first_reply: asyncio.Future[list[str]] | None) -> DNSQueryObservation:
    loop = asyncio.get_running_loop()
    t0 = clock()
    base = dict(engine="udp", resolver_address=resolver, hostname=hostname, query_type=query_type, t0=t0)
    try:
        query = make_query(hostname, query_type)
    except (dns.exception.DNSException, ValueError):  # a label > 63 bytes, an empty label: not askable
        return DNSQueryObservation(**base, t=clock(), failure=INVALID_HOST_NAME)
    try:
        ip, port = split_resolver(resolver)
        family = socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET
        transport, proto = await loop.create_datagram_endpoint(_Collector, remote_addr=(ip, port), family=family)
    except Exception as exc:  # noqa: BLE001 - a socket we cannot open is an observation too
        return DNSQueryObservation(**base, t=clock(), failure=failures.classify_exception(exc))
    proto.clock = clock
    try:
        transport.sendto(query.wire)
        return await _collect(query, proto, base, timeout_s=timeout_s, late_window_s=late_window_s,
                              clock=clock, sink=sink, first_reply=first_reply)
    finally:
        transport.close()


async def _collect(query: Query, proto: _Collector, base: dict[str, object], *,
                   timeout_s: float, late_window_s: float, clock: Clock, sink: ArtifactSink,
                   first_reply: asyncio.Future[list[str]] | None) -> DNSQueryObservation:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    first: tuple[Reply, str, float, str] | None = None
    late: list[DNSReply] = []
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            async with asyncio.timeout(remaining):  # not wait_for: a task per datagram awaited cost more
                data, source, t = await proto.datagrams.get()
        except TimeoutError:
            break
        raw_sha = sink.add("dns_wire", data)
        reply = read_reply(data, query)
        if reply is None:
            late.append(DNSReply(t=t, rcode="MALFORMED", raw_sha256=raw_sha, source=source))
        elif first is None:
            first = (reply, raw_sha, t, source)
            if first_reply is not None and not first_reply.done():
                addrs = [a.ipv4 or a.ipv6 or "" for a in _answers(reply) if a.ipv4 or a.ipv6]
                first_reply.set_result(addrs if reply.rcode == dns.rcode.NOERROR else [])
            deadline = loop.time() + late_window_s  # now only listen for racing replies
        else:
            late.append(DNSReply(t=t, rcode=dns.rcode.to_text(reply.rcode), answers=_answers(reply),
                                 raw_sha256=raw_sha, source=source))
    if first is None:
        failure = failures.classify_exception(proto.error) if proto.error else failures.GENERIC_TIMEOUT
        return DNSQueryObservation(**base, t=clock(), failure=failure, late_replies=late)
    reply, raw_sha, t, _ = first
    rcode = dns.rcode.to_text(reply.rcode)
    answers = _answers(reply)
    has_addr = any(a.ipv4 or a.ipv6 for a in answers)
    return DNSQueryObservation(**base, t=t, rcode=rcode, answers=answers, raw_reply_sha256=raw_sha,
                               failure=failures.rcode_failure(rcode, has_answers=has_addr), late_replies=late)
