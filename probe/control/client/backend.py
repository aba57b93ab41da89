"""An httpcore network backend on asyncio's own transports, for the control client's connections.

httpcore's default backend on asyncio is anyio's: TLS done in Python (anyio's TLSStream over
ssl.MemoryBIO) and a cancel scope entered for every read and write (each one asks asyncio for the
current task). The control client makes one POST per measured URL over kept-alive connections, so
that machinery was the largest single CPU cost of a run. Here the loop's transports do the work
(`loop.create_connection`, `loop.start_tls`: under uvloop, socket and TLS I/O in C), a read that finds
data already received returns it without waiting, and a wait is bounded by a timer on its own future
(no cancel scope, no task cancellation).

Behaviour is the anyio backend's, as httpcore and the failure strings rely on it: the same httpcore
exceptions (ConnectTimeout/ConnectError/ReadTimeout/ReadError/WriteTimeout/WriteError) raised from
the original OSError or ssl.SSLError, an end of stream read as b"", a host name tried over its
addresses IPv6 first with a new attempt every 250 ms (anyio's happy eyeballs), "All connection
attempts failed" when none connects, and closing without a TLS close_notify (HTTP/1.1 frames its
own messages; a dead peer must not hold a socket for the TLS shutdown timeout).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any, cast

import httpcore

HAPPY_EYEBALLS_DELAY_S = 0.25  # anyio's: the next address is tried when the previous has not connected by then
READ_HIGH_WATER = 256 * 1024  # stop reading from the socket while this much is received but unread


class _Protocol(asyncio.Protocol):
    """Received data, end of stream and write flow control of one connection, kept for `_Stream`."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.eof = False  # no more data will come (end of stream, or the connection is gone)
        self.lost: BaseException | None = None  # why the connection broke, if it did
        self.closed = False
        self.waiter: asyncio.Future[None] | None = None  # a read waiting for data
        self.drained: asyncio.Future[None] | None = None  # a write waiting for the send buffer
        self.paused = False
        self.reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike: no isinstance check.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > READ_HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake(self.waiter)

    def eof_received(self) -> bool:
        self.eof = True
        self._wake(self.waiter)
        return False  # let the transport close itself: HTTP/1.1 has no use for a half-open connection

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = self.closed = True
        self.lost = exc
        self._wake(self.waiter)
        self._wake(self.drained)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake(self.drained)

    def take(self, max_bytes: int) -> bytes:
        chunk = self.chunks.popleft()
        if len(chunk) > max_bytes:
            self.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self.buffered -= len(chunk)
        if self.reading_paused and self.buffered <= READ_HIGH_WATER // 4 and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()
        return chunk

    @staticmethod
    def _wake(waiter: asyncio.Future[None] | None) -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def _wait(protocol: _Protocol, attribute: str, timeout: float | None) -> None:
    """Until `protocol` wakes the waiter at `attribute`; TimeoutError after `timeout` seconds.

    The timer sets the future's exception itself, so no task is cancelled and nothing is entered per
    wait; a caller's own cancellation (its asyncio.timeout) passes through untouched."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    setattr(protocol, attribute, waiter)
    timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
    try:
        await waiter
    finally:
        setattr(protocol, attribute, None)
        if timer is not None:
            timer.cancel()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.chunks and not protocol.eof:
            try:
                await _wait(protocol, "waiter", timeout)
            except TimeoutError as exc:
                raise httpcore.ReadTimeout(exc) from exc
        if protocol.chunks:
            return protocol.take(max_bytes)
        if protocol.lost is not None:
            raise httpcore.ReadError(protocol.lost) from protocol.lost
        return b""  # end of stream, as the anyio backend reads it

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.closed or self._transport.is_closing():
            failure = protocol.lost or ConnectionResetError("the connection is closed")
            raise httpcore.WriteError(failure) from failure
        self._transport.write(buffer)
        if protocol.paused:
            try:
                await _wait(protocol, "drained", timeout)
            except TimeoutError as exc:
                raise httpcore.WriteTimeout(exc) from exc
            if protocol.lost is not None:
                raise httpcore.WriteError(protocol.lost) from protocol.lost

    async def aclose(self) -> None:
        # abort(): no close_notify and no waiting for the peer's (see the module docstring).
        self._transport.abort()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                # The loop's own handshake timeout stays out of the way (it would fail with
                # ConnectionAbortedError, not a timeout): ours, `timeout`, comes first.
                handshake_s = None if timeout is None else timeout + 1.0
                transport = await loop.start_tls(self._transport, self._protocol, ssl_context,
                                                 server_hostname=server_hostname,
                                                 ssl_handshake_timeout=handshake_s)
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout(exc) from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(exc) from exc
        if transport is None:  # the connection went away during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        return _Stream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle kept-alive connection is readable when the helper closed it (or sent something
            # it should not have): httpcore then drops it instead of sending a request into it.
            # The transport has already read whatever arrived, so no poll() of the socket is needed.
            return bool(self._protocol.chunks) or self._protocol.eof
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on the running loop's transports (see the module docstring)."""

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await _connect(host, port, local_address)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.ConnectError(exc) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(transport, protocol)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the control client connects over TCP only")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connect(host: str, port: int, local_address: str | None) -> tuple[asyncio.Transport, _Protocol]:
    """A TCP connection to `host`: one of its addresses, tried as anyio's connect_tcp tries them."""
    loop = asyncio.get_running_loop()
    local = (local_address, 0) if local_address else None
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = _eyeballs_order([(family, str(sockaddr[0])) for family, _, _, _, sockaddr in infos])
    errors: list[OSError] = []

    async def attempt(address: str) -> tuple[asyncio.Transport, _Protocol] | None:
        try:
            transport, protocol = await loop.create_connection(_Protocol, address, port, local_addr=local)
        except OSError as exc:
            errors.append(exc)
            return None
        return transport, protocol

    if len(addresses) == 1:  # the common case (a helper named by its address): no race to run
        connected = await attempt(addresses[0])
    else:
        connected = await _race(attempt, addresses)
    if connected is None:
        cause: BaseException = errors[0] if len(errors) == 1 else \
            ExceptionGroup("multiple connection attempts failed", errors)
        raise OSError("All connection attempts failed") from cause
    return connected


async def _race(attempt: Any, addresses: list[str]) -> tuple[asyncio.Transport, _Protocol] | None:
    """Start one attempt per address, the next one when none has connected within the delay; first wins."""
    tasks: list[asyncio.Task[tuple[asyncio.Transport, _Protocol] | None]] = []
    winner = None
    try:
        for address in addresses:
            tasks.append(asyncio.ensure_future(attempt(address)))
            done, _ = await asyncio.wait(tasks, timeout=HAPPY_EYEBALLS_DELAY_S, return_when=asyncio.FIRST_COMPLETED)
            winner = next((t.result() for t in done if t.result() is not None), None)
            if winner is not None:
                return winner
            tasks = [t for t in tasks if not t.done()]
        while tasks:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            winner = next((t.result() for t in done if t.result() is not None), None)
            if winner is not None:
                return winner
            tasks = list(pending)
        return None
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                late = await task
                if late is not None and late is not winner:
                    late[0].abort()


def _eyeballs_order(found: list[tuple[int, str]]) -> list[str]:
    """The first IPv6 address, then the first IPv4 one, then the rest in the resolver's order (anyio's)."""
    ordered: list[str] = []
    v6_found = v4_found = False
    for family, address in found:
        if family == socket.AF_INET6 and not v6_found:
            v6_found = True
            ordered.insert(0, address)
        elif family == socket.AF_INET and not v4_found and v6_found:
            v4_found = True
            ordered.insert(1, address)
        else:
            ordered.append(address)
    return ordered
