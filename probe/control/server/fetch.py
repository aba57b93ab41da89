"""The helper's HTTP step: GET the URL over a measured connection and follow redirects (≤ 10).

The chain is followed by the one fetch pipeline (`probe.net.fetch.follow`), as the probe follows
it. The first hop goes over a connection the endpoint step already measured (one to an address the
helper resolved itself, never one the probe supplied: those may be forged, and fetching a blockpage
from them would make the control agree with the censor). Each later hop is resolved, guarded and
connected the same way. Only a summary of the final response leaves the helper (status, headers,
title, body length, SHA-256 and MinHash), never the body: the helper is not a proxy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from probe import failures
from probe.classify.similarity import body_minhash
from probe.control.server.endpoints import Stream, measure_endpoint, resolve
from probe.control.server.settings import HelperSettings
from probe.models.control import ControlDNS, ControlHTTP
from probe.models.observations import HTTPObservation
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.fetch import Connected, FetchSettings, NotConnected, URLTarget, follow, parse_target
from probe.web.location import browser_location as browser_location

Target = URLTarget  # the helper's name for a URL it asks for
__all__ = ["Fetch", "Target", "browser_location", "minhash", "parse_target"]
MAX_HOP_ADDRESSES = 4


@dataclass
class Fetch:
    settings: HelperSettings
    clock: Clock
    sink: ArtifactSink
    dns: dict[str, ControlDNS] = field(default_factory=dict)

    async def run(self, first: Target, stream: Stream | None, failure: str | None) -> ControlHTTP:
        """Follow the chain from `first` (over the measured `stream`) to a final response or a failure."""

        async def connect(target: Target, redirects: int) -> Connected | NotConnected:
            hop, why = (stream, failure) if redirects == 0 else await self._connect(target)
            return NotConnected(why) if hop is None else Connected(hop.ip, hop.reader, hop.writer)

        s = self.settings
        chain = await follow(first, connect=connect, clock=self.clock, sink=self.sink,
                             settings=FetchSettings(user_agent=s.user_agent, timeout_s=s.http_timeout_s,
                                                    body_cap=s.body_cap, max_redirects=s.max_redirects))
        last = chain.last
        if last is None or last.failure is not None or last.response is None:
            return ControlHTTP(failure=chain.failure or failures.EOF_ERROR, final_url=chain.final.url,
                               redirects=chain.redirects)
        return self._summary(last, chain.final, chain.redirects, failure=chain.failure)

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
