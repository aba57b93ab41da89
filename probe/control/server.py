"""The control helper's HTTPS JSON API: asyncio + ssl + h11, keep-alive, bounded in every dimension.

    POST /api/v1/control   ControlRequest JSON → ControlResponse JSON (see probe.models.control)
    GET  /api/v1/health    {"status": "ok", "client_ip": ..., ...}: deployment checks, the lab's readiness
                           wait, and the probe learning its public address per family (whoami.py)

Limits, because the helper faces the internet: request heads ≤ 16 KiB and bodies ≤ 16 KiB (413);
at most `max_concurrency` measurements at once, more get 503 with Retry-After (the probe then tries
another helper); at most `max_connections` open connections; a request must arrive within the idle
timeout. Malformed HTTP gets 400, bad JSON 400 with a message, anything unexpected 500 — a hostile
client can end its own connection, never the server. A URL the helper cannot use (not http(s), a
port outside 1–65535, an empty or over-long host label, an unparseable authority) gets 400; a host
that merely does not resolve or answer is a ControlResponse with a failure. The server measures
nothing itself (`helper.answer` does) and writes at most one log line per request, without the
client's address unless asked to.

Ports. The URL's own port is measured whatever it is (as OONI's test helper does: sites live on
:8080 and the like), so a URL can point the helper at any port of a host whose name resolves to a
public address (or an allowed CIDR: the `AddressGuard` applies to every address). Addresses the probe
supplies are weaker evidence of intent and are held tighter: each is used only as a bare IP address
(text with a port or anything else that is not an address is dropped), only for TCP (+TLS) to the
URL's own port, and never for HTTP or for any redirect hop (those use the helper's own DNS answers).
So a request can never make the helper open a port other than the one its URL names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

import h11
from pydantic import ValidationError

from probe import __version__
from probe.control.fetch import parse_target
from probe.control.guard import normalise_ip
from probe.control.helper import answer
from probe.control.settings import HelperSettings
from probe.models.control import ControlRequest

CONTROL_PATH = "/api/v1/control"
HEALTH_PATH = "/api/v1/health"
MAX_REQUEST_BYTES = 16 * 1024
READ_CHUNK = 16 * 1024
RETRY_AFTER_S = 1
# A probe measures 64 URLs at once by default and lets up to 4× as many wait for their control's
# answer (the runner's SETTLING_FACTOR): 256 questions can be in flight. Its client caps itself at
# 128 exchanges (probe.control.transport.DEFAULT_MAX_CONNECTIONS), queueing the rest within their
# timeout. The helper's limit is twice that cap, so one probe at full speed never meets a 503 (which
# would cost its URLs their control) and a second probe, or a lab check, still fits; the limit stays
# a guard against floods, not a quota.
DEFAULT_MAX_CONCURRENCY = 256
_KNOWN_STATUSES = {int(s) for s in HTTPStatus}


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _Reply:
    status: int
    payload: dict[str, object] | bytes
    headers: tuple[tuple[str, str], ...] = ()
    note: str = ""  # what the log line adds (e.g. the measured host)


class _Reject(Exception):
    """Answer with this reply and close the connection (the request was not read completely)."""

    def __init__(self, reply: _Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def server_ssl_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(cert, key)
    return ctx


def _error(status: int, message: str, *headers: tuple[str, str]) -> _Reply:
    return _Reply(status, {"error": message}, headers)


class ControlServer:
    def __init__(self, *, settings: HelperSettings, ssl_context: ssl.SSLContext | None,
                 max_concurrency: int = DEFAULT_MAX_CONCURRENCY, max_connections: int = 1024,
                 idle_timeout_s: float = 60.0, handshake_timeout_s: float = 10.0,
                 log: Callable[[str], None] | None = None, log_clients: bool = False) -> None:
        self.settings = settings
        self._ssl = ssl_context
        self._max_concurrency = max_concurrency
        self._max_connections = max_connections
        self._idle_timeout_s = idle_timeout_s
        self._handshake_timeout_s = handshake_timeout_s
        self._log = log
        self._log_clients = log_clients
        self._busy = 0
        self._connections = 0
        self.accepted = 0  # connections accepted since start: shows keep-alive at work
        self._servers: list[asyncio.Server] = []
        self._open: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self, listen: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Listen on every (ip, port); returns the bound addresses (a port 0 gets a real port)."""
        bound: list[tuple[str, int]] = []
        for host, port in listen:
            server = await asyncio.start_server(self._connection, host=host, port=port, ssl=self._ssl,
                                                ssl_handshake_timeout=self._handshake_timeout_s if self._ssl else None,
                                                reuse_address=True, backlog=1024)
            self._servers.append(server)
            bound.extend((str(s.getsockname()[0]), int(s.getsockname()[1])) for s in server.sockets)
        return bound

    async def close(self) -> None:
        """Stop listening, end idle keep-alive connections, give answers in progress a moment."""
        for server in self._servers:
            server.close()
        for writer in self._open.values():
            writer.close()  # a handler waiting for the next request sees EOF and ends
        if self._open:
            await asyncio.wait(list(self._open), timeout=2.0)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self._servers.clear()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._connections >= self._max_connections:
            writer.close()  # shed load before spending anything on this client
            return
        task = asyncio.current_task()
        assert task is not None
        self._open[task] = writer
        self._connections += 1
        self.accepted += 1
        peer = writer.get_extra_info("peername")
        peer_ip = normalise_ip(str(peer[0])) if peer else None
        client_ip = str(peer_ip) if peer_ip is not None else None
        try:
            await self._serve(reader, writer, client_ip)
        except (Exception, asyncio.CancelledError):  # noqa: BLE001
            # A broken client ends its own connection, nothing more; and a handler cancelled at
            # shutdown ends quietly (nobody awaits these tasks, so a re-raise would only be logged).
            pass
        finally:
            self._connections -= 1
            self._open.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     client_ip: str | None) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BYTES)
        while True:
            started = time.monotonic()
            try:
                async with asyncio.timeout(self._idle_timeout_s):
                    request = await _read_request(conn, reader)
            except _Reject as reject:
                await self._send(conn, writer, reject.reply, close=True)
                return
            if request is None:
                return
            reply = await self._dispatch(request, client_ip)
            await self._send(conn, writer, reply, close=False)
            self._log_request(request, reply, client_ip, time.monotonic() - started)
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()

    async def _dispatch(self, request: _Request, client_ip: str | None) -> _Reply:
        if request.path == HEALTH_PATH:
            if request.method != "GET":
                return _error(405, "use GET", ("Allow", "GET"))
            # client_ip: the probe learns its public address per address family before it measures
            # (probe.control.whoami), so it can scrub it even where origins echo it first.
            return _Reply(200, {"status": "ok", "software_version": __version__, "busy": self._busy,
                                "connections": self._connections, "client_ip": client_ip})
        if request.path != CONTROL_PATH:
            return _error(404, f"unknown path; POST {CONTROL_PATH}")
        if request.method != "POST":
            return _error(405, "use POST", ("Allow", "POST"))
        if self._busy >= self._max_concurrency:
            return _error(503, "overloaded: try again shortly or use another helper",
                          ("Retry-After", str(RETRY_AFTER_S)))
        self._busy += 1
        try:
            return await self._control(request.body, client_ip)
        except Exception as exc:  # noqa: BLE001 - a bug in one answer must not take the server down
            return _error(500, f"internal error ({type(exc).__name__})")
        finally:
            self._busy -= 1

    async def _control(self, body: bytes, client_ip: str | None) -> _Reply:
        try:
            control = ControlRequest.model_validate_json(body)
        except ValidationError as exc:
            return _error(400, f"bad request: {_first_problem(exc)}")
        target = parse_target(control.url)
        if target is None:
            return _error(400, "bad request: url must be an http(s) URL with a valid host name and port")
        response = await answer(control, target, settings=self.settings, client_ip=client_ip)
        return _Reply(200, response.model_dump_json().encode("utf-8"), note=target.host)

    async def _send(self, conn: h11.Connection, writer: asyncio.StreamWriter, reply: _Reply, *,
                    close: bool) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = reply.payload if isinstance(reply.payload, bytes) else json.dumps(reply.payload).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                   ("Cache-Control", "no-store"), *reply.headers]
        if close:
            headers.append(("Connection", "close"))
        reason = HTTPStatus(reply.status).phrase.encode() if reply.status in _KNOWN_STATUSES else b""
        writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers, reason=reason)))
        writer.write(conn.send(h11.Data(data=body)))
        writer.write(conn.send(h11.EndOfMessage()))
        await asyncio.wait_for(writer.drain(), self._idle_timeout_s)

    def _log_request(self, request: _Request, reply: _Reply, client_ip: str | None, took_s: float) -> None:
        if self._log is None:
            return
        parts = [request.method, request.path, str(reply.status), f"{took_s:.2f}s"]
        if reply.note:
            parts.append(reply.note)
        if self._log_clients and client_ip:
            parts.append(f"client={client_ip}")
        self._log(" ".join(parts))


async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader) -> _Request | None:
    """The next complete request, None when the client closed cleanly, _Reject when it misbehaves."""
    head: h11.Request | None = None
    body = bytearray()
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise _Reject(_error(exc.error_status_hint, "malformed HTTP request")) from exc
        if event is h11.NEED_DATA:
            data = await reader.read(READ_CHUNK)
            conn.receive_data(data)
            if not data and conn.their_state is h11.IDLE:
                return None
        elif isinstance(event, h11.Request):
            head = event
            length = dict(event.headers).get(b"content-length")
            if length is not None and int(length) > MAX_REQUEST_BYTES:
                raise _Reject(_error(413, f"request body over {MAX_REQUEST_BYTES} bytes"))
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_REQUEST_BYTES:
                raise _Reject(_error(413, f"request body over {MAX_REQUEST_BYTES} bytes"))
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head.headers}
            path = head.target.decode("latin-1").split("?", 1)[0]
            return _Request(head.method.decode("ascii", "replace"), path, headers, bytes(body))
        elif isinstance(event, h11.ConnectionClosed):
            return None


def _first_problem(exc: ValidationError) -> str:
    """One short line about the first problem (never the whole input echoed back)."""
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return "invalid"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "body"
    return f"{where}: {first.get('msg', 'invalid')}"[:200]
