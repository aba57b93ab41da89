"""A small keep-alive HTTP/1.1 client for the control API: one request per connection at a time,
idle connections reused, O(1) per request, at most `max_connections` exchanges at once.

A run asks the helper once per URL, thousands of times, with up to a few hundred questions in flight;
a general-purpose pool that rescans every connection for every request costs more CPU than the
measurement itself (httpcore did, in our profile). Here an idle connection is popped from a deque, used
for one exchange and pushed back if both sides agree to keep it. It does not redirect, retry POSTs
that may have been seen (only a stale idle connection that fails before any reply is retried once) or
follow proxies.

Concurrency is capped: a run can have more questions in flight than a helper will take at once (URLs
waiting for their control do not count against --parallel: up to parallel × 4, 256 by default), and a
helper answers 503 above its own limit, which costs those URLs their control. Above
`max_connections` a question waits for a free slot instead, and that wait is part of the caller's
overall timeout (the caller wraps `post` in one deadline).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11

READ_CHUNK = 65536
# At most this many exchanges at once per pool (so per probe). The helper's default limit
# (probe.control.server.DEFAULT_MAX_CONCURRENCY) is twice this: one probe never fills a helper alone.
DEFAULT_MAX_CONNECTIONS = 128


class ConnectFailed(Exception):
    """The helper could not be reached: TCP connect or TLS handshake failed or timed out."""


class ResponseTooLarge(Exception):
    pass


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    last_used: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        self.writer.close()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class KeepAlivePool:
    def __init__(self, *, ssl_context: ssl.SSLContext, connect_timeout_s: float, user_agent: str,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS, max_idle: int = 64,
                 idle_expiry_s: float = 15.0) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._ssl = ssl_context
        self._connect_timeout_s = connect_timeout_s
        self._user_agent = user_agent
        self._max_idle = max_idle
        self._idle_expiry_s = idle_expiry_s
        self._idle: dict[tuple[str, str, int], deque[_Conn]] = {}
        # One slot per exchange in progress, so never more than max_connections connections are busy
        # (idle ones are capped by max_idle). Waiting here is inside the caller's deadline.
        self._slots = asyncio.Semaphore(max_connections)

    async def post(self, url: str, body: bytes, *, content_type: str, max_body: int) -> Reply:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if https else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rsplit("@", 1)[-1]
        headers = [("Host", host), ("User-Agent", self._user_agent), ("Content-Type", content_type),
                   ("Content-Length", str(len(body))), ("Accept", "application/json")]
        async with self._slots:
            conn = self._take_idle(key)
            if conn is not None:
                try:
                    return await self._exchange(key, conn, target, headers, body, max_body)
                except (OSError, EOFError, h11.RemoteProtocolError, asyncio.IncompleteReadError):
                    conn.close()  # the helper closed an idle connection: ask again on a fresh one
            conn = await self._connect(key)
            return await self._exchange(key, conn, target, headers, body, max_body)

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    def _take_idle(self, key: tuple[str, str, int]) -> _Conn | None:
        conns = self._idle.get(key)
        now = time.monotonic()
        while conns:
            conn = conns.pop()
            if now - conn.last_used < self._idle_expiry_s and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    async def _connect(self, key: tuple[str, str, int]) -> _Conn:
        scheme, host, port = key
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                host, port, ssl=self._ssl if scheme == "https" else None,
                server_hostname=host if scheme == "https" else None), self._connect_timeout_s)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise ConnectFailed(f"{host}:{port}: {type(exc).__name__}") from exc
        return _Conn(reader, writer)

    async def _exchange(self, key: tuple[str, str, int], conn: _Conn, target: str, headers: list[tuple[str, str]],
                        body: bytes, max_body: int) -> Reply:
        try:
            reply = await _round_trip(conn, target, headers, body, max_body)
        except BaseException:
            conn.close()
            raise
        if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            conn.h11.start_next_cycle()
            conn.last_used = time.monotonic()
            pool = self._idle.setdefault(key, deque())
            if len(pool) < self._max_idle:
                pool.append(conn)
                return reply
        conn.close()
        return reply


async def _round_trip(conn: _Conn, target: str, headers: list[tuple[str, str]], body: bytes,
                      max_body: int) -> Reply:
    conn.writer.write(conn.h11.send(h11.Request(method="POST", target=target, headers=headers)))
    conn.writer.write(conn.h11.send(h11.Data(data=body)))
    conn.writer.write(conn.h11.send(h11.EndOfMessage()))
    await conn.writer.drain()
    status, reply_headers, data = 0, {}, bytearray()
    while True:
        event = conn.h11.next_event()
        if event is h11.NEED_DATA:
            chunk = await conn.reader.read(READ_CHUNK)
            if not chunk and status == 0:
                raise EOFError("the helper closed the connection before answering")
            conn.h11.receive_data(chunk)
        elif isinstance(event, h11.Response):
            status = event.status_code
            reply_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
        elif isinstance(event, h11.Data):
            data += event.data
            if len(data) > max_body:
                raise ResponseTooLarge(f"control answer larger than {max_body} bytes")
        elif isinstance(event, h11.EndOfMessage):
            return Reply(status=status, headers=reply_headers, body=bytes(data))
        elif isinstance(event, h11.ConnectionClosed):
            raise EOFError("the helper closed the connection mid-answer")
