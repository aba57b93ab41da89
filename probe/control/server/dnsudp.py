"""The helper's DNS over UDP: its queries share a few sockets instead of opening one per query.

The probe's `probe.net.dns.query_udp` opens, connects and closes a socket per query, so that it can
keep listening for racing (injected) replies on it. The helper asks its own resolver only for the
addresses (its `late_window_s` is 0), and at full speed the socket per query (two per URL, plus
redirects) cost it about a tenth of its CPU. Here the queries in flight share a connected socket:

- the kernel still drops every datagram that is not from the resolver's address and port (the socket
  is connected), and a reply answers a query only when `read_reply` accepts it for that query (its
  random id, the question: name, type and class): the same checks as the probe's step;
- a socket serves at most QUERIES_PER_SOCKET queries, then a fresh one (a fresh random source port)
  takes over and the old one is closed as soon as no query waits on it: an off-path forger has the
  id and a port that changes every few dozen queries to guess; an idle socket closes after
  IDLE_CLOSE_S, so nothing stays open between bursts;
- ids are random and never shared by two queries waiting on the same socket, so a reply goes to its
  query alone (another query's reply, junk, a malformed datagram are ignored as they are on a socket
  of its own: the query waits on until its timeout);
- a socket error (ICMP port unreachable: the resolver is not there) is kept by every query waiting
  on that socket, all of them to that resolver, and reported when one times out without a reply, as
  the probe's step reports it.

The answer is what `query_udp` answers for the helper: the addresses of the first valid reply and
the failure its rcode means, INVALID_HOST_NAME for a name that cannot be asked, the classified
error when no socket can be opened. Raw replies are not kept: the helper's answer never carries them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import weakref
from dataclasses import dataclass

import dns.entropy
import dns.exception
import dns.rcode

from probe import failures
from probe.models.observations import QueryType
from probe.models.settings import split_resolver
from probe.net.dns import INVALID_HOST_NAME
from probe.net.dnswire import Query, Reply, make_query, read_reply

QUERIES_PER_SOCKET = 64  # then a new socket (a new source port) for the next queries
IDLE_CLOSE_S = 1.0  # a socket nobody has queried for this long is closed
_ID = struct.Struct("!H")


@dataclass(frozen=True)
class UDPAnswer:
    failure: str | None
    addresses: list[str]


class _Socket(asyncio.DatagramProtocol):
    """One connected socket to the resolver and the queries waiting on it, by id."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, tuple[Query, asyncio.Future[Reply]]] = {}
        self.errors: dict[int, Exception] = {}  # per waiting query: the first socket error it saw
        self.used = 0
        self.closed = False
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] # a datagram transport, as created

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if len(data) < 2:
            return
        entry = self.waiting.get(_ID.unpack_from(data)[0])
        if entry is None:
            return  # a reply to a query that gave up, or junk: nobody waits for it
        query, future = entry
        reply = read_reply(data, query)
        if reply is not None and not future.done():
            future.set_result(reply)

    def error_received(self, exc: Exception) -> None:
        for qid in self.waiting:
            self.errors.setdefault(qid, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)

    def add(self, query: Query) -> tuple[Query, asyncio.Future[Reply]]:
        """Registers a query under an id no other waiting query has (rerolled at random if needed)."""
        qid = query.id
        while qid in self.waiting:
            qid = dns.entropy.random_16()
        if qid != query.id:
            query = Query(id=qid, wire=_ID.pack(qid) + query.wire[2:], qname=query.qname, qtype=query.qtype)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self.waiting[qid] = (query, future)
        self.used += 1
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        return query, future

    def done(self, qid: int) -> Exception | None:
        """The query `qid` stops waiting (its socket error, if any); a retired socket nobody waits on
        closes now, the current one after IDLE_CLOSE_S without queries."""
        self.waiting.pop(qid, None)
        error = self.errors.pop(qid, None)
        if not self.waiting:
            if self.used >= QUERIES_PER_SOCKET or self.pool.current is not self:
                self.close()
            elif self.idle is None:
                self.idle = asyncio.get_running_loop().call_later(IDLE_CLOSE_S, self._idle_close)
        return error

    def _idle_close(self) -> None:
        self.idle = None
        if not self.waiting:
            self.close()

    def close(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        if not self.closed:
            self.closed = True
            self.pool.forget(self)
            if self.transport is not None:
                self.transport.close()


class _Pool:
    """The sockets to one resolver on one event loop: the current one takes new queries."""

    def __init__(self, ip: str, port: int) -> None:
        self.ip, self.port = ip, port
        self.current: _Socket | None = None

    def forget(self, sock: _Socket) -> None:
        if self.current is sock:
            self.current = None

    async def socket(self) -> _Socket:
        current = self.current
        if current is not None and not current.closed and current.used < QUERIES_PER_SOCKET:
            return current
        family = socket.AF_INET6 if ipaddress.ip_address(self.ip).version == 6 else socket.AF_INET
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_datagram_endpoint(lambda: _Socket(self), remote_addr=(self.ip, self.port),
                                                       family=family)
        # Another query may have opened one meanwhile: the newest takes the next queries either way.
        self.current = proto
        return proto


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Pool]] = weakref.WeakKeyDictionary()


def _pool(resolver: str) -> _Pool:
    loop = asyncio.get_running_loop()
    pools = _pools.setdefault(loop, {})
    pool = pools.get(resolver)
    if pool is None:
        ip, port = split_resolver(resolver)
        pool = pools[resolver] = _Pool(ip, port)
    return pool


async def query_addresses(hostname: str, query_type: QueryType, *, resolver: str, timeout_s: float) -> UDPAnswer:
    """One query to `resolver`; the addresses of the first valid reply and its failure, if any."""
    try:
        query = make_query(hostname, query_type)
    except (dns.exception.DNSException, ValueError):  # a label > 63 bytes, an empty label: not askable
        return UDPAnswer(INVALID_HOST_NAME, [])
    try:
        sock = await _pool(resolver).socket()
    except Exception as exc:  # noqa: BLE001 - a socket we cannot open is an observation too
        return UDPAnswer(failures.classify_exception(exc), [])
    query, future = sock.add(query)
    try:
        assert sock.transport is not None
        sock.transport.sendto(query.wire)
        async with asyncio.timeout(timeout_s):
            reply = await future
    except TimeoutError:
        error = sock.done(query.id)
        return UDPAnswer(failures.classify_exception(error) if error else failures.GENERIC_TIMEOUT, [])
    except BaseException:  # cancelled: stop waiting, then let it through (a failed send is not
        # raised here: the transport hands it to error_received, and the query reports it at its timeout)
        sock.done(query.id)
        raise
    sock.done(query.id)
    return _answer(reply)


def _answer(reply: Reply) -> UDPAnswer:
    addresses = [value for kind, value, _ in reply.answers if kind in ("A", "AAAA")]
    rcode = dns.rcode.to_text(reply.rcode)
    return UDPAnswer(failures.rcode_failure(rcode, has_answers=bool(addresses)), addresses)
