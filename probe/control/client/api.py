"""The probe's side of the control API: ask helpers in order, fall back to DNS over HTTPS.

httpx over httpcore pools (keep-alive, HTTP/1.1, on asyncio's own transports: transport.py,
backend.py) carries every query, DNS over HTTPS included: a run asks once per URL, thousands of
times, so a question is an httpx.Request handed straight to a pool's transport. At most
`max_connections` questions are in flight (128 by default, spread over pools of 4 connections with a
slot token in front, so no httpcore pool ever queues); more wait for a slot within their timeout
rather than be turned away by the helper with 503. Helpers are tried in order; one that answers 503
is given one short second chance when its Retry-After is small, then the next is asked. A helper
that could not be reached at all is skipped for a short while (one timeout per run, not one per URL,
when a censor blocks it). When no helper answers and a DoH URL is set, the answer is DNS-only.

No proxy is ever used, environment proxies included (the pools have none; the DoH client has
`trust_env=False`): the control must not travel a path the volunteer did not choose. The client
never logs; the `client_ip` in an answer is the caller's to use and drop.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import certifi
import httpx
from pydantic import ValidationError

from probe import __version__, failures
from probe.control.client.doh import doh_resolve, transport_failure
from probe.control.client.transport import PoolTransport
from probe.control.client.whoami import Sighting, sightings
from probe.errors import InputError
from probe.models.control import ControlRequest, ControlResponse
from probe.net.fetch import parse_target

API_PATH = "api/v1/control"
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_RETRY_AFTER_S = 2.0
SKIP_UNREACHABLE_S = 30.0
MAX_ADDRESSES = 32  # ControlRequest's limit
WHOAMI_TIMEOUT_S = 3.0  # learning our public addresses before a run: a blocked helper costs this once
# At most this many questions at once (so per probe). The helper's default limit
# (probe.control.server.app.DEFAULT_MAX_CONCURRENCY) is twice this: one probe never fills a helper alone,
# and its per-client connection limit (probe.control.server.gate.GateLimits.max_per_client) is above it.
DEFAULT_MAX_CONNECTIONS = 128
SHARD_CONNECTIONS = 4  # connections per httpcore pool (see ControlClient.__init__)
KEEPALIVE_S = 10.0  # below the helper's keep-alive (20 s), so the helper never closes one we are about to use


def control_endpoint(helper: str) -> str:
    """'https://h/' → 'https://h/api/v1/control'; a URL that already names the endpoint is kept."""
    parts = urlsplit(helper)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"not a control helper URL: {helper!r}", hint="write it like https://198.18.0.80/")
    if parts.path.rstrip("/").endswith("/" + API_PATH):
        return helper
    return helper.rstrip("/") + "/" + API_PATH


class _Unreachable(Exception):
    """The helper could not be reached (transport level): worth skipping for a while."""


class ControlClient:
    def __init__(self, *, urls: list[str], ca_bundle: Path | None, doh_url: str | None, timeout_s: float,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        # Endpoints parsed once: a question is one POST to one of them.
        self._helpers = [(url, httpx.URL(control_endpoint(url))) for url in urls]
        self._doh_url = doh_url
        self._timeout_s = timeout_s
        self._unreachable: dict[str, tuple[float, str]] = {}  # helper → (until, failure)
        context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else certifi.where())
        # Connecting gets under half the budget, so a helper that cannot be reached is known as such
        # (and skipped for a while) rather than lost in the overall timeout.
        connect_s = min(timeout_s / 2, 10.0)
        self._ssl_context = context
        self._whoami_timeout_s = min(connect_s, WHOAMI_TIMEOUT_S)
        # At most max_connections questions at once, below the helper's default limit (see app.py):
        # the rest wait for a slot within `timeout_s` instead of being answered 503. The slots are
        # spread over small pools (SHARD_CONNECTIONS each): httpcore's pool rescans every connection
        # for every waiting request (one pool of 128 cost 17 ms of CPU a question on loopback, 4 cost
        # 2.2 ms); a question takes a slot token first, so no pool ever has a request waiting.
        # Each pool runs on asyncio's own transports (transport.py, backend.py): TLS in the loop's C code
        # instead of anyio's Python, and no cancel scope per read and write.
        shards = max(1, -(-max_connections // SHARD_CONNECTIONS))
        size = min(SHARD_CONNECTIONS, max_connections)
        self._shards = [PoolTransport(ssl_context=context, max_connections=size, keepalive_expiry=KEEPALIVE_S)
                        for _ in range(shards)]
        # Last in, first out: a question takes the slot freed last, so a quiet run keeps reusing
        # the same few kept-alive connections (waiting questions are still served in order).
        self._slots: asyncio.LifoQueue[PoolTransport] = asyncio.LifoQueue()
        for slot in reversed(range(max_connections)):
            self._slots.put_nowait(self._shards[slot % shards])
        # DNS over HTTPS, the rare fallback, is an httpx client on the first pool.
        self._http = httpx.AsyncClient(
            transport=self._shards[0], trust_env=False, follow_redirects=False,
            headers={"User-Agent": f"probe/{__version__}", "Accept": "application/json", "Accept-Encoding": "identity",
                     "Content-Type": "application/json"},
            timeout=httpx.Timeout(timeout_s, connect=connect_s))
        # A question is an httpx.Request handed to its pool's transport, with the headers and timeouts the
        # client above would add: the client's per-request machinery (URL and header merging, cookie jar,
        # auth and redirect flows, event hooks) cost a fifth of a question's CPU and does nothing here
        # (no cookies, no auth, no redirects followed, no proxies).
        self._headers = self._http.headers.raw  # as the client sends them, names in their case
        self._extensions = {"timeout": self._http.timeout.as_dict()}
        self._closed = False

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def whoami(self) -> list[Sighting]:
        """What each helper sees, per address family: the address, and the network its database names."""
        return await sightings([url for url, _ in self._helpers], ssl_context=self._ssl_context,
                               timeout_s=self._whoami_timeout_s, user_agent=f"probe/{__version__}")

    async def aclose(self) -> None:
        self._closed = True
        await self._http.aclose()  # and with it the first pool
        for shard in self._shards[1:]:
            await shard.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    async def query(self, url: str, addresses: list[str]) -> tuple[ControlResponse | None, str | None]:
        """(answer, None) from the first helper that answers; else a DNS-only DoH answer together with
        why no helper answered; else (None, why neither did), in plain words."""
        try:
            payload = ControlRequest(url=url, addresses=addresses[:MAX_ADDRESSES]).model_dump_json().encode()
        except ValidationError:
            return None, "unknown_failure: the URL is too long to send to a control helper"
        problems: list[str] = []
        for helper, endpoint in self._helpers:
            response, problem = await self._ask(helper, endpoint, payload)
            if response is not None:
                return response, None
            problems.append(f"{helper}: {problem}")
        explanation = ("no control helper answered: " + "; ".join(problems)) if problems \
            else "no control helper configured"
        if not self._doh_url:
            return None, explanation
        return await self._doh(url, explanation)

    async def _doh(self, url: str, explanation: str) -> tuple[ControlResponse | None, str | None]:
        assert self._doh_url is not None
        target = parse_target(url)
        if target is None:
            return None, f"{explanation}; not an http(s) URL, so no DNS over HTTPS either"
        try:
            dns, problem = await asyncio.wait_for(doh_resolve(self._http, self._doh_url, target.host),
                                                  self._timeout_s)
        except TimeoutError:
            dns, problem = None, failures.GENERIC_TIMEOUT
        if dns is None:
            return None, f"{explanation}; DNS over HTTPS {self._doh_url}: {problem}"
        response = ControlResponse(helper=f"doh:{self._doh_url}", dns=dns, http=None,
                                   software_version=__version__)
        return response, f"{explanation}; control is DNS over HTTPS only"

    async def _ask(self, helper: str, endpoint: httpx.URL, payload: bytes) -> tuple[ControlResponse | None, str]:
        skipped = self._unreachable.get(helper)
        if skipped is not None and skipped[0] > time.monotonic():
            return None, f"{skipped[1]} (unreachable moments ago; not asked again yet)"
        for attempt in range(2):
            try:
                async with asyncio.timeout(self._timeout_s):  # not wait_for: no task of its own per question
                    status, headers, body = await self._post(endpoint, payload)
            except _Unreachable as exc:
                failure = transport_failure(exc.__cause__ or exc)
                self._unreachable[helper] = (time.monotonic() + SKIP_UNREACHABLE_S, failure)
                return None, failure
            except Exception as exc:  # noqa: BLE001 - any failure of one helper means: ask the next
                return None, transport_failure(exc)
            self._unreachable.pop(helper, None)
            if status == 503:
                delay = _retry_after(headers.get("retry-after"))
                if attempt == 0 and delay is not None and delay <= MAX_RETRY_AFTER_S:
                    await asyncio.sleep(delay)
                    continue
                return None, "overloaded (HTTP 503)"
            if status != 200:
                return None, f"HTTP {status}: {_error_message(body)}"
            return _parse(helper, body)
        return None, "overloaded (HTTP 503)"

    async def _post(self, endpoint: httpx.URL, payload: bytes) -> tuple[int, dict[str, str], bytes]:
        shard = await self._slots.get()  # waiting here is inside the caller's deadline
        try:
            request = httpx.Request("POST", endpoint, headers=self._headers, content=payload,
                                    extensions=self._extensions)
            try:
                reply = await shard.handle_async_request(request)
                try:
                    assert isinstance(reply.stream, httpx.AsyncByteStream)
                    body = bytearray()
                    async for chunk in reply.stream:
                        body += chunk
                        if len(body) > MAX_RESPONSE_BYTES:
                            raise ResponseTooLarge(f"control answer larger than {MAX_RESPONSE_BYTES} bytes")
                    return reply.status_code, dict(reply.headers), bytes(body)
                finally:
                    await reply.aclose()
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise _Unreachable(str(exc)) from exc
        finally:
            self._slots.put_nowait(shard)


class ResponseTooLarge(Exception):
    pass


def _parse(helper: str, body: bytes) -> tuple[ControlResponse | None, str]:
    try:
        response = ControlResponse.model_validate_json(body)
    except ValidationError:
        return None, "unknown_failure: the helper's answer is not a valid control response"
    return response.model_copy(update={"helper": helper}), ""


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: too far ahead to wait for within one URL


def _error_message(body: bytes) -> str:
    try:
        message = json.loads(body).get("error")
    except (ValueError, AttributeError):
        message = None
    text = str(message) if message else body[:120].decode("utf-8", "replace")
    return failures.scrub_addresses(text.strip()) or "no message"
