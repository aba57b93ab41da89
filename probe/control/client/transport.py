"""An httpx transport over an httpcore pool that runs on the asyncio backend (backend.py).

httpx's own AsyncHTTPTransport builds its httpcore pool itself and takes no network backend, so this
is the few lines it uses to hand a request to a pool and a response back, done the same way: the
request's URL, headers, body stream and extensions (the timeouts) passed as they are, and httpcore's
exceptions raised as their httpx counterparts, from the original, so `transport_failure` (doh.py)
and the client's ConnectError/ConnectTimeout handling see what they saw before. HTTP/1.1 only, no
proxies (the client never uses one).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator

import httpcore
import httpx

from probe.control.client.backend import AsyncioBackend

# httpcore → httpx, most specific first: the first match is the one raised (httpx's own mapping
# picks the most specific of all matches; this order gives the same answer).
_EXCEPTIONS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _httpx_error(exc: Exception) -> httpx.HTTPError | None:
    for source, target in _EXCEPTIONS:
        if isinstance(exc, source):
            return target(str(exc))
    return None


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            mapped = _httpx_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class PoolTransport(httpx.AsyncBaseTransport):
    """One httpcore connection pool (HTTP/1.1, keep-alive) on the asyncio backend."""

    def __init__(self, *, ssl_context: ssl.SSLContext, max_connections: int, keepalive_expiry: float) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=max_connections, max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry, http1=True, http2=False, network_backend=AsyncioBackend())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        try:
            reply = await self._pool.handle_async_request(core)
        except Exception as exc:
            mapped = _httpx_error(exc)
            if mapped is None:
                raise
            raise mapped from exc
        assert isinstance(reply.stream, AsyncIterable)
        return httpx.Response(status_code=reply.status, headers=reply.headers,
                              stream=_ResponseStream(reply.stream), extensions=reply.extensions)

    async def aclose(self) -> None:
        await self._pool.aclose()
