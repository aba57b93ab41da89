"""The decoy request: after a slow GET, the same address is asked for `/` under the decoy name.

The TLS decoy handshake (`endpoints.py`) tells SNI filtering from blocking by address; this tells a
page slowed down for its name (Host header for http://, SNI and Host for https://) from a slow path
or a slow server address: the decoy travels the same path to the same address a moment later, and
only the name differs. Its certificate is not checked (the address need not serve the decoy name:
only the timing and size of what comes back matter). It records; it never decides (see
`probe.classify.throttle`).
"""

from __future__ import annotations

import asyncio
from typing import Literal

from probe.measure.endpoints import TransactionIds
from probe.models import HTTPHeader, HTTPObservation, HTTPRequest
from probe.models.settings import MeasureSettings
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.http import browser_headers, http_get
from probe.net.tcp import tcp_connect
from probe.net.tls import tls_handshake

# A request slower than this (from sending it to the end of the body, or to its failure) gets a
# decoy request for comparison; the TLS decoy handshake uses the same threshold.
SLOW_REQUEST_S = 1.0


def wants_decoy(obs: HTTPObservation, *, settings: MeasureSettings, host: str) -> bool:
    """A decoy is worth its seconds only after a slow request, and only under another name."""
    decoy = settings.decoy_sni
    return bool(decoy) and decoy != host and (obs.t - obs.t0) > SLOW_REQUEST_S


async def decoy_get(ip: str, port: int, *, https: bool, settings: MeasureSettings, clock: Clock,
                    sink: ArtifactSink, ids: TransactionIds) -> HTTPObservation:
    """GET / with the decoy name to `ip`:`port` over a new connection; a failed step is the failure."""
    name = settings.decoy_sni
    scheme: Literal["http", "https"] = "https" if https else "http"
    host_header = name if port == (443 if https else 80) else f"{name}:{port}"
    url = f"{scheme}://{host_header}/"
    tid = ids.take()
    tcp, sock = await tcp_connect(ip, port, timeout_s=settings.timeouts.tcp_s, clock=clock, transaction_id=tid)
    if sock is None:
        return _failed(url, ip, port, scheme, host_header, settings, t0=tcp.t0, t=tcp.t, failure=tcp.failure,
                       tid=tid)
    if https:
        tls, stream = await tls_handshake(sock, ip=ip, port=port, server_name=name,
                                          timeout_s=settings.timeouts.tls_s, ca_bundle=settings.ca_bundle,
                                          clock=clock, sink=sink, is_decoy=True, transaction_id=tid)
        if stream is None:
            return _failed(url, ip, port, scheme, host_header, settings, t0=tcp.t0, t=tls.t,
                           failure=tls.failure, tid=tid)
        reader, writer = stream.reader, stream.writer
    else:
        reader, writer = await asyncio.open_connection(sock=sock)
    return await http_get(reader, writer, url=url, ip=ip, port=port, scheme=scheme, host_header=host_header,
                          target="/", user_agent=settings.user_agent, timeout_s=settings.timeouts.http_s,
                          body_cap=settings.body_cap_bytes, clock=clock, sink=sink, transaction_id=tid)


def _failed(url: str, ip: str, port: int, scheme: Literal["http", "https"], host_header: str,
            settings: MeasureSettings, *, t0: float, t: float, failure: str | None, tid: int) -> HTTPObservation:
    headers = [HTTPHeader(name=k, value=v) for k, v in browser_headers(host_header, settings.user_agent)]
    return HTTPObservation(ip=ip, port=port, scheme=scheme,
                           request=HTTPRequest(method="GET", url=url, headers=headers), t0=t0, t=t,
                           failure=failure, transaction_id=tid)
