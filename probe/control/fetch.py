"""The helper's HTTP step: GET the URL over a measured connection and follow redirects (≤ 10).

The first hop goes over a connection the endpoint step already measured (one to an address the
helper resolved itself, never one the probe supplied: those may be forged, and fetching a blockpage
from them would make the control agree with the censor). Each later hop is resolved, guarded and
connected the same way. Only a summary of the final response leaves the helper (status, headers,
title, body length, SHA-256 and MinHash), never the body: the helper is not a proxy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin, urlsplit

from probe import failures
from probe.control.endpoints import Stream, measure_endpoint, resolve
from probe.control.settings import HelperSettings
from probe.models.control import ControlDNS, ControlHTTP
from probe.models.observations import HTTPObservation
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.http import http_get

REDIRECT_CODES = {301, 302, 303, 307, 308}
MAX_HOP_ADDRESSES = 4


@dataclass(frozen=True)
class Target:
    url: str
    scheme: Literal["http", "https"]
    host: str
    port: int

    @property
    def https(self) -> bool:
        return self.scheme == "https"

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == (443 if self.https else 80) else f"{name}:{self.port}"

    @property
    def request_target(self) -> str:
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def parse_target(url: str) -> Target | None:
    """An http(s) URL with a host → Target; anything else → None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    scheme: Literal["http", "https"] = "https" if parts.scheme == "https" else "http"
    return Target(url=url.strip(), scheme=scheme, host=parts.hostname,
                  port=port or (443 if scheme == "https" else 80))


@dataclass
class Fetch:
    settings: HelperSettings
    clock: Clock
    sink: ArtifactSink
    dns: dict[str, ControlDNS] = field(default_factory=dict)

    async def run(self, first: Target, stream: Stream | None, failure: str | None) -> ControlHTTP:
        """Follow the chain from `first` (over the measured `stream`) to a final response or a failure."""
        target, redirects = first, 0
        while stream is not None:
            obs = await self._get(target, stream)
            response = obs.response
            if obs.failure is not None or response is None:
                return ControlHTTP(failure=obs.failure or failures.EOF_ERROR, final_url=target.url,
                                   redirects=redirects)
            location = response.header("location") if response.code in REDIRECT_CODES else None
            if not location:
                return self._summary(obs, target, redirects)
            following = parse_target(urljoin(target.url, location.strip()))
            if following is None:
                return self._summary(obs, target, redirects, failure=failures.HTTP_INVALID_REDIRECT_LOCATION_HOST)
            if redirects >= self.settings.max_redirects:
                return self._summary(obs, target, redirects, failure=failures.TOO_MANY_REDIRECTS)
            target, redirects = following, redirects + 1
            stream, failure = await self._connect(target)
        return ControlHTTP(failure=failure or failures.EOF_ERROR, final_url=target.url, redirects=redirects)

    async def _get(self, target: Target, stream: Stream) -> HTTPObservation:
        return await http_get(stream.reader, stream.writer, url=target.url, ip=stream.ip, port=target.port,
                              scheme=target.scheme, host_header=target.host_header,
                              target=target.request_target, user_agent=self.settings.user_agent,
                              timeout_s=self.settings.http_timeout_s, body_cap=self.settings.body_cap,
                              clock=self.clock, sink=self.sink)

    async def _connect(self, target: Target) -> tuple[Stream | None, str | None]:
        """A redirect hop: the helper's own addresses for the host, tried in order."""
        if target.host not in self.dns:
            self.dns[target.host] = await resolve(target.host, settings=self.settings, clock=self.clock,
                                                  sink=self.sink)
        answer = self.dns[target.host]
        if answer.failure is not None:
            return None, answer.failure
        failure: str | None = failures.DNS_NO_ANSWER
        for ip in answer.addresses[:MAX_HOP_ADDRESSES]:
            endpoint, stream = await measure_endpoint(ip, target.port, https=target.https,
                                                      server_name=target.host, settings=self.settings,
                                                      clock=self.clock, sink=self.sink)
            if stream is not None:
                return stream, None
            failure = endpoint.tcp_failure or endpoint.tls_failure or failure
        return None, failure

    def _summary(self, obs: HTTPObservation, target: Target, redirects: int,
                 failure: str | None = None) -> ControlHTTP:
        response = obs.response
        assert response is not None
        body = (self.sink.get(response.body_sha256) if response.body_sha256 else None) or b""
        return ControlHTTP(failure=failure, status_code=response.code, headers=response.headers,
                           title=response.title, body_length=len(body),
                           # As the probe records it: the hash of the capped, decoded body; None if empty.
                           body_sha256=hashlib.sha256(body).hexdigest() if body else None,
                           body_is_truncated=response.body_is_truncated, body_minhash=minhash(body),
                           final_url=target.url, redirects=redirects)


def minhash(body: bytes) -> list[int]:
    """The classifier's MinHash of the body, or [] while `probe.classify` does not provide one."""
    function = _minhash_function()
    if function is None:
        return []
    try:
        return [int(v) for v in function(body)]
    except Exception:  # noqa: BLE001 - a hostile body must not cost the whole control answer
        return []


def _minhash_function() -> Callable[[bytes], Sequence[int]] | None:
    # Imported lazily: the helper must run (with an empty MinHash) before classification ships it.
    try:
        from probe.classify import body_minhash  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        try:
            from probe.classify.similarity import body_minhash  # type: ignore[no-redef,unused-ignore]
        except ImportError:
            return None
    return body_minhash  # type: ignore[no-any-return,unused-ignore]
