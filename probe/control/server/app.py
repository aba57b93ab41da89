"""The control helper's HTTP API as an ASGI app (Starlette), served by uvicorn (see server.py).

    POST /api/v1/control   ControlRequest JSON → ControlResponse JSON (see probe.models.control)
    GET  /api/v1/health    {"status": "ok", "client_ip": ..., "network": ..., ...}: deployment checks,
                           the lab's readiness wait, and the probe learning its public address per family
                           and, when the operator installed an IP-to-ASN database, that address's ASN,
                           country and network name (`network`, see probe.control.network; null without
                           a database or for an address it does not know) — whoami.py

Limits the app keeps (the connection gate, gate.py, keeps those on connections and heads): bodies
≤ 16 KiB (413) arriving within `body_timeout_s` (408); at most `max_concurrency` measurements at once,
more get 503 with Retry-After (the probe then tries another helper). Bad JSON gets 400 with a short
message that never echoes the input, an unknown path 404, a wrong method 405, anything unexpected a
JSON 500 — one request's bug never ends the server. A URL the helper cannot use (not http(s), a port
outside 1–65535, an empty or over-long host label, an unparseable authority) gets 400; a host that
merely does not resolve or answer is a ControlResponse with a failure.

The app measures nothing itself: `probe.control.server.helper.answer` builds the answer (the HTTP layer
only parses, limits and serialises). It writes one log line per request (method, path, status,
time, the measured host) and never the client's address unless `log_clients` asks for it.
Ports and the probe's addresses: see helper.py and endpoints.py (a request can never make the
helper open a port other than the one its URL names).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from probe import __version__
from probe.control.defaults import DEFAULT_MAX_CONCURRENCY as DEFAULT_MAX_CONCURRENCY  # why 256: see there
from probe.control.network import network_of
from probe.control.server.fetch import parse_target
from probe.control.server.guard import normalise_ip
from probe.control.server.helper import answer
from probe.control.server.settings import HelperSettings
from probe.identity import AsnDatabase
from probe.models.control import ControlRequest

CONTROL_PATH = "/api/v1/control"
HEALTH_PATH = "/api/v1/health"
MAX_REQUEST_BYTES = 16 * 1024
BODY_TIMEOUT_S = 10.0
RETRY_AFTER_S = 1
_NO_STORE = {"Cache-Control": "no-store"}


class _Busy:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.now = 0


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={**_NO_STORE, **(headers or {})})


def client_ip(request: Request) -> str | None:
    """The requester's address (a trusted proxy's X-Forwarded-For already applied by uvicorn)."""
    ip = normalise_ip(request.client.host) if request.client else None
    return str(ip) if ip is not None else None


def create_app(*, settings: HelperSettings, max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
               log: Callable[[str], None] | None = None, log_clients: bool = False,
               connections: Callable[[], int] = lambda: 0, body_timeout_s: float = BODY_TIMEOUT_S,
               asn_db: AsnDatabase | None = None) -> ASGIApp:
    """The helper's app. `connections` reports the open connections (the gate's count) for health;
    `asn_db` names the requester's network in health answers (the volunteer then needs no database)."""
    busy = _Busy(max_concurrency)

    async def health(request: Request) -> Response:
        # client_ip: the probe learns its public address per address family before it measures
        # (probe.control.client.whoami), so it can scrub it even where origins echo it first.
        seen = client_ip(request)
        network = network_of(asn_db.lookup(seen)) if asn_db is not None and seen is not None else None
        return JSONResponse({"status": "ok", "software_version": __version__, "busy": busy.now,
                             "connections": connections(), "client_ip": seen, "network": network},
                            headers=_NO_STORE)

    async def control(request: Request) -> Response:
        body = await _read_body(request, body_timeout_s)
        if isinstance(body, Response):
            return body
        if busy.now >= busy.limit:
            return _error(503, "overloaded: try again shortly or use another helper",
                          {"Retry-After": str(RETRY_AFTER_S)})
        busy.now += 1
        try:
            return await _control(request, body, settings)
        except Exception as exc:  # noqa: BLE001 - a bug in one answer must not reach uvicorn's log as a traceback
            return _error(500, f"internal error ({type(exc).__name__})")
        finally:
            busy.now -= 1

    routes = [Route(HEALTH_PATH, health, methods=["GET"]), Route(CONTROL_PATH, control, methods=["POST"])]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    return _OneLinePerRequest(app, log, log_clients) if log is not None else app


async def _read_body(request: Request, timeout_s: float) -> bytes | Response:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_REQUEST_BYTES):
        return _too_large()
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_REQUEST_BYTES:
                    return _too_large()
    except TimeoutError:
        return _error(408, "request body too slow", {"Connection": "close"})
    except ClientDisconnect:
        return _error(400, "request body incomplete", {"Connection": "close"})  # logged; nobody reads it
    return bytes(body)


def _too_large() -> Response:
    return _error(413, f"request body over {MAX_REQUEST_BYTES} bytes", {"Connection": "close"})


async def _control(request: Request, body: bytes, settings: HelperSettings) -> Response:
    try:
        question = ControlRequest.model_validate_json(body)
    except ValidationError as exc:
        return _error(400, f"bad request: {_first_problem(exc)}")
    target = parse_target(question.url)
    if target is None:
        return _error(400, "bad request: url must be an http(s) URL with a valid host name and port")
    request.state.note = target.host
    response = await answer(question, target, settings=settings, client_ip=client_ip(request))
    return Response(response.model_dump_json(), media_type="application/json", headers=_NO_STORE)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return _error(404, f"unknown path; POST {CONTROL_PATH}")
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return _error(405, f"use {allowed}", {"Allow": allowed})
    return _error(exc.status_code, str(exc.detail))


def _first_problem(exc: ValidationError) -> str:
    """One short line about the first problem (never the whole input echoed back)."""
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return "invalid"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "body"
    return f"{where}: {first.get('msg', 'invalid')}"[:200]


class _OneLinePerRequest:
    """ASGI middleware: one log line per request, written when its answer has gone (or failed)."""

    def __init__(self, app: ASGIApp, log: Callable[[str], None], log_clients: bool) -> None:
        self.app, self.log, self.log_clients = app, log, log_clients

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.monotonic(), 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.log(self._line(scope, status or 500, time.monotonic() - started))

    def _line(self, scope: Scope, status: int, took_s: float) -> str:
        state: dict[str, Any] = scope.get("state") or {}
        parts = [str(scope["method"]), _printable(str(scope["path"])), str(status), f"{took_s:.2f}s"]
        if state.get("note"):
            parts.append(str(state["note"]))
        client = scope.get("client")
        if self.log_clients and client:
            parts.append(f"client={client[0]}")
        return " ".join(parts)


def _printable(text: str) -> str:
    """A client-chosen path, made safe for a log line (no control characters, bounded)."""
    return "".join(c if c.isprintable() and c != " " else "?" for c in text[:200])
