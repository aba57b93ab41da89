"""The hub's ASGI app (Starlette): probes join and upload chain links; advocates read the page.

    POST /api/v1/join    a one-time token and a public key → the probe's name (403: token refused)
    POST /api/v1/links   a batch of signed chain links → what was stored (see probe.hub.wire)
    GET  /               the latest verdict per site × network (server-rendered, no JavaScript)
    GET  /site?host=H    one site's timeline: day × network × label, with how many probes saw it
    GET  /bundle?site=H  one site's bundle (probe.hub.export), every probe's signed links
    GET  /api/v1/bundle  a bundle for an advocate: `Authorization: Bearer READ-TOKEN` (probe.hub.readers),
                         filters site, asn, since, until, limit as `probe hub export`'s; 401 without one
    GET  /healthz        "ok" when the database answers

Every answer to a bad request is one JSON line `{"error": ...}` with a fitting status: 400 malformed,
403 unknown or revoked key, 408 body too slow, 409 fork, 413 too large, 422 forged, 503 busy or the
database away (with Retry-After: the probe's outbox retries). The app never reads the client's
address (scope["client"]); uvicorn's access log is off (probe.hub.server).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg_pool
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from probe.errors import EvidenceError
from probe.evidence.keys import fingerprint, load_public_key_pem
from probe.hub.enrol import JoinRefused, join
from probe.hub.ingest import ForkRefused, record_fork, store_batch
from probe.hub.settings import HubSettings
from probe.hub.verify import BatchRejected, check_batch
from probe.hub.wire import JoinRequest, JoinResult, UploadBatch

Log = Callable[[str], None]
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]*Z?)?$")


def create_app(*, settings: HubSettings, log: Log) -> ASGIApp:
    """The app with its own connection pool, opened and closed with the app's lifespan."""
    hub = _Hub(settings=settings, log=log)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await hub.pool.open(wait=False)
        try:
            yield
        finally:
            await hub.pool.close()

    routes = [Route("/api/v1/links", hub.upload, methods=["POST"]),
              Route("/api/v1/join", hub.join, methods=["POST"]),
              Route("/healthz", hub.health, methods=["GET"]),
              Route("/", hub.page, methods=["GET"]),
              Route("/site", hub.site, methods=["GET"]),
              Route("/bundle", hub.bundle, methods=["GET"]),
              Route("/api/v1/bundle", hub.read_bundle, methods=["GET"])]
    app = Starlette(routes=routes, lifespan=lifespan)
    return ConcurrencyLimit(app, limit=settings.max_concurrency, retry_after=settings.retry_after)


class ConcurrencyLimit:
    """At most `limit` requests in the app at once; others answered 503 + Retry-After before their body."""

    def __init__(self, app: ASGIApp, *, limit: int, retry_after: int) -> None:
        self.app, self.limit, self.retry_after, self.active = app, limit, retry_after, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            await _busy(self.retry_after)(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _busy(retry_after: int, what: str = "the hub is busy") -> JSONResponse:
    return _error(f"{what}; try again later", 503, {"Retry-After": str(retry_after)})


class _Hub:
    def __init__(self, *, settings: HubSettings, log: Log) -> None:
        self.settings, self.log = settings, log
        self.pool = psycopg_pool.AsyncConnectionPool(
            settings.database, min_size=1, max_size=settings.pool_size, open=False,
            kwargs={"autocommit": True}, check=psycopg_pool.AsyncConnectionPool.check_connection,
            reconnect_timeout=3600.0)
        self.keys: dict[str, Ed25519PublicKey] = {}

    async def _body(self, request: Request) -> bytes:
        cap = self.settings.max_body
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise BatchRejected(f"the body is larger than {cap} bytes: send smaller batches", status=413)
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.settings.body_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > cap:
                        raise BatchRejected(f"the body is larger than {cap} bytes: send smaller batches", status=413)
                    chunks.append(chunk)
        except TimeoutError:
            raise BatchRejected(f"the body took longer than {self.settings.body_timeout:g}s to arrive",
                                status=408) from None
        return b"".join(chunks)

    async def upload(self, request: Request) -> Response:
        try:
            batch = UploadBatch.model_validate_json(await self._body(request))
            key_fp = _one_key(batch)
            key = await self._enrolled_key(key_fp)
            checked = await run_in_threadpool(check_batch, batch.links, public_key=key, key_fingerprint=key_fp,
                                              now=datetime.now(UTC), clock_tolerance_s=self.settings.clock_tolerance)
            async with self.pool.connection(timeout=10.0) as conn:
                try:
                    result = await store_batch(conn, key_fingerprint=key_fp, checked=checked)
                except ForkRefused as fork:
                    await record_fork(conn, key_fingerprint=key_fp, fork=fork)
                    self.log(f"TAMPERING: refused a fork from {key_fp}: {fork.message}")
                    raise
        except BatchRejected as exc:
            return _error(exc.message, exc.status)
        except ValidationError as exc:
            return _error(_describe(exc), 400)
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
            return _busy(self.settings.retry_after, "the hub's database is not answering")
        if result.gaps or result.clock_ahead:
            self.log(f"{key_fp}: {result.gaps} gap(s), {result.clock_ahead} record(s) dated ahead of the hub")
        return JSONResponse(result.model_dump())

    async def _enrolled_key(self, key_fp: str) -> Ed25519PublicKey:
        async with self.pool.connection(timeout=10.0) as conn:
            cur = await conn.execute("SELECT public_key_pem, revoked_at FROM probes WHERE key_fingerprint = %s",
                                     (key_fp,))
            row = await cur.fetchone()
        if row is None:
            raise BatchRejected(f"key {key_fp} is not enrolled on this hub: run `probe hub join`", status=403)
        if row[1] is not None:
            raise BatchRejected(f"key {key_fp} was revoked on this hub; new uploads are refused", status=403)
        if key_fp not in self.keys:
            self.keys[key_fp] = load_public_key_pem(str(row[0]).encode("ascii"))
        return self.keys[key_fp]

    async def join(self, request: Request) -> Response:
        try:
            ask = JoinRequest.model_validate_json(await self._body(request))
            key = load_public_key_pem(ask.public_key_pem.encode("utf-8"))
            key_fp = fingerprint(key)
            async with self.pool.connection(timeout=10.0) as conn:
                name = await join(conn, token=ask.token, key_fingerprint=key_fp, public_key_pem=ask.public_key_pem)
        except BatchRejected as exc:
            return _error(exc.message, exc.status)
        except (ValidationError, EvidenceError, UnicodeEncodeError) as exc:
            return _error(_describe(exc) if isinstance(exc, ValidationError) else str(exc), 400)
        except JoinRefused as exc:
            return _error(str(exc), 403)
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
            return _busy(self.settings.retry_after, "the hub's database is not answering")
        self.log(f"enrolled {key_fp} as {name!r}")
        return JSONResponse(JoinResult(name=name, key_fingerprint=key_fp).model_dump())

    async def health(self, request: Request) -> Response:
        try:
            async with self.pool.connection(timeout=5.0) as conn:
                await conn.execute("SELECT 1")
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
            return PlainTextResponse("database not answering", status_code=503,
                                     headers={"Retry-After": str(self.settings.retry_after)})
        return PlainTextResponse("ok")

    async def site(self, request: Request) -> Response:
        return await _site_page(self, request)

    async def bundle(self, request: Request) -> Response:
        return await _site_bundle(self, request)

    async def read_bundle(self, request: Request) -> Response:
        return await _read_bundle(self, request)

    async def page(self, request: Request) -> Response:
        from probe.hub.page import read_page, render_page

        try:
            async with self.pool.connection(timeout=10.0) as conn:
                data = await read_page(conn)
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
            return PlainTextResponse("the hub's database is not answering; try again later", status_code=503,
                                     headers={"Retry-After": str(self.settings.retry_after)})
        return HTMLResponse(render_page(data))


async def _site_page(hub: _Hub, request: Request) -> Response:
    from probe.hub.page import read_timeline, render_timeline

    host = request.query_params.get("host", "")[:253]
    try:
        async with hub.pool.connection(timeout=10.0) as conn:
            rows = await read_timeline(conn, host=host)
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
        return PlainTextResponse("the hub's database is not answering; try again later", status_code=503,
                                 headers={"Retry-After": str(hub.settings.retry_after)})
    return HTMLResponse(render_timeline(host, rows))


async def _site_bundle(hub: _Hub, request: Request) -> Response:
    """One site's bundle, for the page's download link."""
    from probe.hub.export import ExportFilter

    host = request.query_params.get("site", "")[:253].lower()
    if not host:
        return _error("name a site: /bundle?site=who.int", 400)
    return await _send_bundle(hub, ExportFilter(host=host), host)


async def _read_bundle(hub: _Hub, request: Request) -> Response:
    """An advocate's bundle: a valid read token (never a probe's invite or key), then the filters."""
    from probe.hub.readers import read_token_name

    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    unauthorised = {"WWW-Authenticate": 'Bearer realm="probe-hub"'}
    if scheme.lower() != "bearer" or not token.strip():
        return _error("a read token is needed: `probe export --hub URL --token T` (ask the hub's operator)", 401,
                      unauthorised)
    try:
        filt = _filters(request)
        async with hub.pool.connection(timeout=10.0) as conn:
            reader = await read_token_name(conn, token=token.strip())
    except BatchRejected as exc:
        return _error(exc.message, exc.status)
    except (psycopg.OperationalError, psycopg_pool.PoolTimeout):
        return _busy(hub.settings.retry_after, "the hub's database is not answering")
    if reader is None:
        return _error("the read token is unknown or was revoked", 401, unauthorised)
    hub.log(f"bundle for reader {reader!r}: {filt.used() or 'everything'}")
    return await _send_bundle(hub, filt, filt.host or "hub")


def _filters(request: Request) -> Any:
    from probe.hub.export import ExportFilter

    q = request.query_params
    values = {name: q.get(name) or None for name in ("site", "asn", "since", "until", "limit")}
    for name, value in values.items():
        if value is not None and (len(value) > 253 or not value.isprintable()):
            raise BatchRejected(f"{name}: not a plausible value", status=400)
    for name in ("since", "until"):
        value = values[name]
        if value is not None and not _STAMP.match(value):
            raise BatchRejected(f"{name}: {value!r} is not a UTC date or time (e.g. 2026-03-01)", status=400)
    limit = values["limit"]
    if limit is not None and (not limit.isdigit() or int(limit) < 1):
        raise BatchRejected("limit: a positive number of measurements", status=400)
    return ExportFilter(host=values["site"] and values["site"].lower(), asn=values["asn"] and values["asn"].upper(),
                        since=values["since"], until=values["until"], limit=int(limit) if limit else None)


async def _send_bundle(hub: _Hub, filt: Any, label: str) -> Response:
    """Written to a temporary file by the streaming exporter, sent in chunks, then removed."""
    import tempfile
    from pathlib import Path

    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse

    from probe.hub.export import export_bundle

    folder = Path(tempfile.mkdtemp(prefix="probe-hub-bundle-"))
    out = folder / "bundle.zip"

    def write() -> None:
        with psycopg.connect(hub.settings.database, autocommit=True, connect_timeout=10) as conn:
            export_bundle(conn, out, filt=filt)

    def cleanup() -> None:
        out.unlink(missing_ok=True)
        folder.rmdir()

    try:
        await run_in_threadpool(write)
    except psycopg.OperationalError:
        cleanup()
        return _busy(hub.settings.retry_after, "the hub's database is not answering")
    safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in label)
    return FileResponse(out, media_type="application/zip", filename=f"{safe}.zip", background=BackgroundTask(cleanup))


def _one_key(batch: UploadBatch) -> str:
    keys = {link.key_fingerprint for link in batch.links}
    if len(keys) != 1:
        raise BatchRejected("a batch carries the links of one key", status=400)
    return keys.pop()


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return "malformed JSON: " + str(first.get("ctx", {}).get("error", first["msg"]))
    where = ".".join(str(p) for p in first["loc"])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}" if where else str(first["msg"])

