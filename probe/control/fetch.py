"""The helper's HTTP step: GET the URL over a measured connection and follow redirects (≤ 10).

The first hop goes over a connection the endpoint step already measured (one to an address the
helper resolved itself, never one the probe supplied: those may be forged, and fetching a blockpage
from them would make the control agree with the censor). Each later hop is resolved, guarded and
connected the same way. Only a summary of the final response leaves the helper (status, headers,
title, body length, SHA-256 and MinHash), never the body: the helper is not a proxy.

A redirect is followed as a browser follows it, and as the probe's engine does, with the very same
function (`browser_location`, from `probe.net.location`, re-exported here): relative to the current
URL, raw bytes of the Location (h11 hands them over as latin-1 text) percent-encoded, a non-ASCII host
in IDNA form; one a browser could not follow (no host, not http(s), a bad port or host label) ends
the chain as http_invalid_redirect_location_host. The URL asked for is read the same way, and what
goes on the wire (request target, Host header, SNI, DNS name) is always ASCII.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote, urlsplit

from probe import failures
from probe.classify.similarity import body_minhash
from probe.control.endpoints import Stream, measure_endpoint, resolve
from probe.control.settings import HelperSettings
from probe.models.control import ControlDNS, ControlHTTP
from probe.models.observations import HTTPObservation
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.http import http_get
from probe.net.location import browser_location as browser_location

REDIRECT_CODES = {301, 302, 303, 307, 308}
MAX_HOP_ADDRESSES = 4
# In a request target, printable ASCII is sent as written (as the probe sends it, so both ask for the
# same bytes); spaces, control characters and non-ASCII (as UTF-8) are percent-encoded.
_TARGET_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


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
        """Path and query as sent: always ASCII, so a hostile or non-ASCII URL cannot break the request."""
        parts = urlsplit(self.url)  # parse_target has split this URL already: it cannot fail here
        path = quote(parts.path or "/", safe=_TARGET_SAFE)
        return path + (f"?{quote(parts.query, safe=_TARGET_SAFE)}" if parts.query else "")


def parse_target(url: str) -> Target | None:
    """An http(s) URL the helper can ask for → Target; anything else → None.

    Host and port are read as a browser reads them (`browser_location`): host lower-case and in IDNA
    form, every label 1–63 characters; port 1–65535 (the URL's own, whatever it is); an unparseable
    authority, another scheme or no host → None. `url` is kept as given (it is what final_url echoes
    when there is no redirect); `request_target` encodes its path and query.
    """
    text = url.strip()
    normal = browser_location(text, "")  # the URL itself, resolved against nothing
    if normal is None:
        return None
    try:
        parts = urlsplit(normal)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        return None
    scheme: Literal["http", "https"] = "https" if parts.scheme == "https" else "http"
    return Target(url=text, scheme=scheme, host=parts.hostname, port=port or (443 if scheme == "https" else 80))


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
            resolved = browser_location(target.url, location)
            following = parse_target(resolved) if resolved is not None else None
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
                           final_url=target.url, redirects=redirects, **_timing(obs))


def _timing(obs: HTTPObservation) -> dict[str, float]:
    """hold_s and transfer_s of the final GET (the probe's throttling reference), in ms steps."""
    if obs.t_response is None:
        return {}
    return {"hold_s": round(max(obs.t_response - obs.t0, 0.0), 3),
            "transfer_s": round(max(obs.t - obs.t_response, 0.0), 3)}


def minhash(body: bytes) -> list[int]:
    """The classifier's MinHash of the body, so the probe can compare pages without the control's page."""
    if not body:
        return []
    try:
        return body_minhash(body)
    except Exception:  # noqa: BLE001 - a hostile body must not cost the whole control answer
        return []
