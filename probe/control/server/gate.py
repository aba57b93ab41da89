"""The helper's connection gate: uvicorn's h11 protocol behind limits a hostile client cannot get around.

uvicorn counts a connection only once its TLS handshake is over, lets the first request take as long
as it likes, and checks the head size only while a head is incomplete (so a head that arrives in
one read passes whatever its size). A helper faces the internet, so every connection passes this
gate first, as plain TCP, before anything is spent on it:

- at most `max_connections` connections in all and `max_per_client` per client (an IPv4 address or
  an IPv6 /64), handshakes included; over a limit the connection is aborted at once (a reset). The
  client's address is used as a key and never logged. Connections from a trusted reverse proxy are
  not limited per client (the proxy does that, by the real address);
- at most `max_handshakes` TLS handshakes at once, each within `handshake_timeout_s`. TLS is started
  here, on the accepted socket: on uvloop (the helper's loop: probe.cli.eventloop.run) by uvloop's C protocol, whose
  read buffer is malloc'd and stays untouched until data comes; on asyncio's loop with a read buffer
  of TLS_BUFFER_BYTES (asyncio's own is 256 KiB a connection, zeroed before the first byte: 15,000
  silent connections cost the old helper 3.8 GB);
- a complete request head within `head_timeout_s` of the connection (or of the previous answer on a
  kept-alive one), so silent and trickling clients go; a head of at most `max_head_bytes` (431);
- a whole exchange (body, answer, its sending) within `exchange_timeout_s`, else the connection is
  aborted.

It decides nothing about requests (see app.py) and measures nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from asyncio import sslproto
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from probe.control.server.guard import normalise_ip

TLS_BUFFER_BYTES = 32 * 1024  # two TLS records; asyncio's default is 256 KiB per connection
_BLANK_LINE = (b"\n\r\n", b"\n\n")  # the end of a head (h11 accepts bare LF lines too)


@dataclass(frozen=True)
class GateLimits:
    max_connections: int = 1024
    # A probe keeps up to 128 connections to a helper (probe.control.client.api.DEFAULT_MAX_CONNECTIONS);
    # one client may use every measurement slot (app.DEFAULT_MAX_CONCURRENCY), never every connection.
    max_per_client: int = 256
    max_handshakes: int = 256
    handshake_timeout_s: int = 10  # (asyncio takes whole seconds here, in its types)
    head_timeout_s: float = 10.0
    keep_alive_s: float = 20.0  # an idle kept-alive connection; longer than the probe keeps one (10 s)
    exchange_timeout_s: float = 90.0
    max_head_bytes: int = 16 * 1024


@dataclass
class GateState:
    """What the gate counts, shared by every connection of one server."""

    limits: GateLimits
    ssl_context: ssl.SSLContext | None
    trusted_proxies: frozenset[str] = frozenset()
    connections: int = 0
    handshakes: int = 0
    admitted: int = 0  # connections let in since start (shows keep-alive at work)
    refused: int = 0  # connections turned away at the gate since start
    per_client: dict[str, int] = field(default_factory=dict)
    open: set[asyncio.Transport] = field(default_factory=set)  # every admitted raw transport
    handshaking: set[asyncio.Task[None]] = field(default_factory=set)  # kept referenced while they run

    def admit(self, key: str | None) -> bool:
        limits = self.limits
        if self.connections >= limits.max_connections or (
                self.ssl_context is not None and self.handshakes >= limits.max_handshakes):
            return False
        if key is not None and self.per_client.get(key, 0) >= limits.max_per_client:
            return False
        self.connections += 1
        self.admitted += 1
        if key is not None:
            self.per_client[key] = self.per_client.get(key, 0) + 1
        return True

    def release(self, key: str | None) -> None:
        self.connections -= 1
        if key is not None:
            left = self.per_client[key] - 1
            if left:
                self.per_client[key] = left
            else:
                del self.per_client[key]

    def close_all(self) -> None:
        for transport in list(self.open):
            transport.abort()


def client_key(peer: Any, trusted: frozenset[str]) -> str | None:
    """The per-client key of a peer address: the IPv4 address or the IPv6 /64; None for a trusted proxy."""
    ip = normalise_ip(str(peer[0])) if isinstance(peer, tuple) and peer else None
    if ip is None:
        return "?"
    if str(ip) in trusted:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


class _Coalescing(asyncio.Transport):
    """The connection's transport, with the writes of one turn of the event loop sent as one.

    uvicorn writes an answer's head and its body separately: over TLS that was two records, two
    send calls and two packets per answer, each costing the helper (and the probe receiving it) a
    record, a system call and a trip through the network stack. Writes are joined until the loop's
    next turn (an answer's head and body are written in the same one) and then sent; closing sends
    what is pending first, aborting drops it, as the transport itself would.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport, self._loop = transport, loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()


class _SmallBufferSSLProtocol(sslproto.SSLProtocol):
    max_size = TLS_BUFFER_BYTES


def _tls_protocol(loop: asyncio.AbstractEventLoop) -> Callable[..., asyncio.BufferedProtocol]:
    """The TLS protocol class for this loop: uvloop's own on uvloop, else asyncio's with a small buffer.

    uvloop's does its record work in C (asyncio's is Python: ~a tenth of the helper's CPU went to
    sending answers through it) and mallocs its 256 KiB read buffer without touching it, so an idle
    connection holds a few pages of it, not the whole (asyncio's bytearray is zeroed, hence resident).
    It has asyncio's constructor: both are the same design, asyncio's taken from uvloop's.
    """
    try:
        import uvloop
        import uvloop.loop
    except ImportError:
        return _SmallBufferSSLProtocol
    if isinstance(loop, uvloop.Loop):
        return cast(Callable[..., asyncio.BufferedProtocol], getattr(uvloop.loop, "SSLProtocol"))  # noqa: B009 - not in its stubs
    return _SmallBufferSSLProtocol


def gated_protocol(state: GateState) -> type[H11Protocol]:
    """uvicorn's `http=` protocol class for one server's gate."""

    class Gated(GatedProtocol):
        gate = state

    return Gated


class GatedProtocol(H11Protocol):
    gate: GateState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._key: str | None = None
        self._raw: asyncio.Transport | None = None
        self._admitted = False
        self._made = False
        self._tls_pending = False
        self._tail = b""
        self._waiting_head = False
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None

    # -- the gate -------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes
        if self._tls_pending:  # the TLS protocol hands over its transport once the handshake is done
            self._tls_pending = False
            self._start(transport)
            return
        gate = self.gate
        self._key = client_key(transport.get_extra_info("peername"), gate.trusted_proxies)
        if not gate.admit(self._key):
            gate.refused += 1
            transport.abort()  # before any buffer or handshake is spent on it
            return
        self._admitted, self._raw = True, transport
        gate.open.add(transport)
        if gate.ssl_context is None:
            self._start(transport)
            return
        gate.handshakes += 1
        self._tls_pending = True
        # asyncio's start_tls, with the small-buffer protocol and the gate's handshake timeout. The
        # TLS protocol takes the socket over here, before any byte is read: uvloop starts reading
        # right after connection_made whatever pause_reading said, so a later switch could hand the
        # ClientHello to the HTTP parser. It calls connection_made with its own transport once the
        # handshake is done (before it passes on any data).
        waiter = self.loop.create_future()
        tls = _tls_protocol(self.loop)(self.loop, self, gate.ssl_context, waiter, server_side=True,
                                       ssl_handshake_timeout=gate.limits.handshake_timeout_s)
        transport.set_protocol(tls)
        tls.connection_made(transport)
        task = self.loop.create_task(self._handshake(transport, waiter))
        gate.handshaking.add(task)
        task.add_done_callback(gate.handshaking.discard)

    async def _handshake(self, transport: asyncio.Transport, waiter: asyncio.Future[None]) -> None:
        """Waits for the handshake started in connection_made, to notice its failure."""
        try:
            await waiter
        except BaseException:  # noqa: BLE001 - a failed or timed-out handshake ends this connection only
            transport.abort()
            if not self._made:
                self._release()
        finally:
            self.gate.handshakes -= 1

    def _start(self, transport: asyncio.Transport) -> None:
        self._made = True
        super().connection_made(transport)
        self.transport = _Coalescing(transport, self.loop)  # what uvicorn writes answers to
        self._await_head(self.gate.limits.head_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        if self._made:
            super().connection_lost(exc)
        self._release()

    def _release(self) -> None:
        if self._admitted:
            self._admitted = False
            self.gate.release(self._key)
            if self._raw is not None:
                self.gate.open.discard(self._raw)

    # -- heads: size and deadline ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._waiting_head and not self._head_fits(data):
            self._refuse_head()
            return
        super().data_received(data)

    def _head_fits(self, data: bytes) -> bool:
        """Counts the raw bytes of the head being received, up to and with its blank line."""
        limit = self.gate.limits.max_head_bytes
        joined = self._tail + data  # a blank line may span two reads
        ends = [i + len(blank) for blank in _BLANK_LINE if (i := joined.find(blank)) >= 0]
        if ends:
            self._waiting_head = False  # the rest is a body, or a pipelined request (h11 bounds those)
            return self._head_bytes + min(ends) - len(self._tail) <= limit
        self._head_bytes += len(data)
        self._tail = joined[-2:]
        return self._head_bytes <= limit

    def _refuse_head(self) -> None:
        self._waiting_head = False
        self._cancel_deadline()
        body = b'{"error": "request head too large"}'
        reply = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                 b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)
        self.transport.write(reply)
        self.transport.close()

    def handle_events(self) -> None:
        had_cycle = self.cycle
        super().handle_events()
        if self.cycle is not had_cycle and self.cycle is not None:  # a head arrived: the exchange begins
            self._waiting_head = False
            self._set_deadline(self.gate.limits.exchange_timeout_s, self._exchange_expired)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.our_state is h11.IDLE:
            self._await_head(self.gate.limits.keep_alive_s)

    def _await_head(self, timeout_s: float) -> None:
        self._waiting_head, self._head_bytes, self._tail = True, 0, b""
        self._set_deadline(timeout_s, self._head_expired)

    def _head_expired(self) -> None:
        """No exchange began in time (whatever bytes came): the connection goes."""
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.abort()

    def _exchange_expired(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete and not self.transport.is_closing():
            self.transport.abort()

    def _set_deadline(self, timeout_s: float, callback: Callable[[], None]) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(timeout_s, callback)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
