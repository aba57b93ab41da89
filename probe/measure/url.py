"""Measure one URL, like a lab notebook: resolve → connect → handshake → GET, hop by hop, + control.

A slow GET is followed by a decoy GET to the same address under another name (`decoy.py`).

Every step's observation is appended in order; a failure ends the measurement at that step and is
recorded with its OONI operation. The control helper is asked in parallel, once the probe knows which
addresses it resolved. This module measures; it does not classify or store.
"""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from probe import __version__, failures
from probe.measure.decoy import decoy_get, wants_decoy
from probe.measure.endpoints import TransactionIds, connect_all
from probe.measure.resolve import HostResolution, resolve_host
from probe.models import (
    Artifact,
    ArtifactRef,
    ControlResponse,
    DNSQueryObservation,
    HTTPObservation,
    Measurement,
    ProbeNetwork,
    TCPConnectObservation,
    TLSHandshakeObservation,
)
from probe.models.settings import MeasureSettings
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock, measurement_clock, utc_now_iso
from probe.net.http import http_get
from probe.net.location import browser_location

REDIRECT_CODES = {301, 302, 303, 307, 308}


class ControlSource:
    """What the measurement needs from a control client (see probe.control.client.ControlClient)."""

    async def query(self, url: str, addresses: list[str]) -> tuple[ControlResponse | None, str | None]:
        raise NotImplementedError


@dataclass
class MeasuredURL:
    measurement: Measurement
    artifacts: list[Artifact]
    own_addresses: set[str]  # the probe's addresses (local and as the control saw it): to scrub, never store
    public_ip: str | None  # the address the control helper saw: for the ASN lookup, never stored


@dataclass
class _Notebook:
    url: str
    settings: MeasureSettings
    resolver: str | None
    clock: Clock
    sink: ArtifactSink = field(default_factory=ArtifactSink)
    ids: TransactionIds = field(default_factory=TransactionIds)
    resolutions: dict[str, HostResolution] = field(default_factory=dict)
    tcp: list[TCPConnectObservation] = field(default_factory=list)
    tls: list[TLSHandshakeObservation] = field(default_factory=list)
    requests: list[HTTPObservation] = field(default_factory=list)
    decoy_requests: list[HTTPObservation] = field(default_factory=list)
    failure: str | None = None
    failed_operation: str | None = None
    own_addresses: set[str] = field(default_factory=set)

    def fail(self, failure: str | None, operation: str) -> None:
        self.failure, self.failed_operation = failure, operation


async def measure_url(url: str, *, settings: MeasureSettings, resolver: str | None,
                      control: ControlSource | None, network: ProbeNetwork, category_code: str | None = None,
                      on_active_done: Callable[[], None] | None = None) -> MeasuredURL:
    """Measure `url`. `on_active_done` is called once the probe's own steps are over, before waiting
    for racing DNS replies and the control's answer: waiting costs nothing, so a runner can start
    another URL then."""
    start = utc_now_iso()
    book = _Notebook(url=url, settings=settings, resolver=resolver, clock=measurement_clock())
    control_task: asyncio.Task[tuple[ControlResponse | None, str | None]] | None = None
    try:
        control_task = await _hops(book, url, control)
        if on_active_done is not None:
            on_active_done()
        queries = [q for r in book.resolutions.values() for q in await r.finish()]
        control_response, control_failure = await control_task if control_task else (None, "no control configured")
    except BaseException:  # cancelled (run abandoned): leave nothing running behind us
        for task in [control_task, *(t for r in book.resolutions.values() for t in r.pending)]:
            if task is not None:
                task.cancel()
        raise
    if control_response is not None and control_response.client_ip:
        book.own_addresses.add(control_response.client_ip)
    return MeasuredURL(measurement=_record(book, start, network, category_code, queries, control_response,
                                           control_failure), artifacts=book.sink.items(),
                       own_addresses=book.own_addresses,
                       public_ip=control_response.client_ip if control_response else None)


async def _hops(book: _Notebook, url: str, control: ControlSource | None
                ) -> asyncio.Task[tuple[ControlResponse | None, str | None]] | None:
    """Every hop of the redirect chain; returns the control's task (started after the first DNS)."""
    control_task = None
    current = url
    for hop in range(book.settings.max_redirects + 1):
        host = urlsplit(current).hostname or ""
        addresses = await _addresses(book, host)
        if control is not None and control_task is None:  # asked even when our DNS failed
            control_task = asyncio.create_task(control.query(url, addresses or []))
        if addresses is None:
            break
        location = await _fetch(book, current, addresses)
        if location is None:
            break
        if hop == book.settings.max_redirects:
            book.fail(failures.TOO_MANY_REDIRECTS, "http_round_trip")
            break
        current = location
    return control_task


async def _addresses(book: _Notebook, host: str) -> list[str] | None:
    """The hop's addresses (resolving each host once per measurement), or None when resolving failed."""
    if _is_ip(host):
        return [host.strip("[]")]
    if host not in book.resolutions:
        book.resolutions[host] = await resolve_host(host, resolver=book.resolver, settings=book.settings,
                                                    clock=book.clock, sink=book.sink)
    resolution = book.resolutions[host]
    if not resolution.addresses:
        book.fail(resolution.failure, "resolve")
        return None
    return resolution.addresses


async def _fetch(book: _Notebook, url: str, addresses: list[str]) -> str | None:
    """Connect, handshake and GET one hop; returns the redirect target, or None when the chain ends."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    host = parts.hostname or ""
    hop = await connect_all(addresses, port=port, https=https, server_name=host, settings=book.settings,
                            clock=book.clock, sink=book.sink, ids=book.ids)
    book.tcp.extend(hop.tcp)
    book.tls.extend(hop.tls)
    # Our own source addresses are scrubbed later; loopback ones are not the volunteer's identity
    # (and equal the target's address when measuring a local server).
    book.own_addresses |= {a for a in hop.local_addresses if not ipaddress.ip_address(a).is_loopback}
    if hop.chosen is None:
        book.fail(hop.failure, hop.failed_operation or "connect")
        return None
    conn = hop.chosen
    default_port = port == (443 if https else 80)
    host_header = (parts.hostname or "") if default_port else f"{parts.hostname}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    obs = await http_get(conn.reader, conn.writer, url=url, ip=conn.ip, port=port,
                         scheme="https" if https else "http", host_header=host_header, target=target,
                         user_agent=book.settings.user_agent, timeout_s=book.settings.timeouts.http_s,
                         body_cap=book.settings.body_cap_bytes, clock=book.clock, sink=book.sink,
                         transaction_id=conn.transaction_id)
    book.requests.append(obs)
    if wants_decoy(obs, settings=book.settings, host=host):
        book.decoy_requests.append(await decoy_get(conn.ip, port, https=https, settings=book.settings,
                                                   clock=book.clock, sink=book.sink, ids=book.ids))
    if obs.failure is not None or obs.response is None:
        book.fail(obs.failure, "http_round_trip")
        return None
    if obs.response.code not in REDIRECT_CODES:
        return None
    return _redirect_target(book, url, obs.response.header("location"))


def _redirect_target(book: _Notebook, url: str, location: str | None) -> str | None:
    if not location:
        return None  # a 3xx without Location is a final answer
    target = browser_location(url, location)
    if target is None:  # no host, not http(s), a port out of range, unparseable: the server's bug
        book.fail(failures.HTTP_INVALID_REDIRECT_LOCATION_HOST, "http_round_trip")
    return target


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _record(book: _Notebook, start: str, network: ProbeNetwork, category_code: str | None,
            queries: list[DNSQueryObservation], control: ControlResponse | None,
            control_failure: str | None) -> Measurement:
    artifacts = [ArtifactRef(sha256=a.sha256, kind=a.kind, size=len(a.data)) for a in book.sink.items()]
    return Measurement(
        measurement_id=str(uuid.uuid4()), input=book.url, category_code=category_code or None,
        test_start_time=start, measurement_runtime_s=book.clock(), software_version=__version__,
        network=network, queries=queries, tcp_connect=book.tcp, tls_handshakes=book.tls,
        requests=book.requests, decoy_requests=book.decoy_requests,
        # The helper's view of our address is used to scrub and to look up the ASN, never kept.
        control=control.model_copy(update={"client_ip": None}) if control else None,
        control_failure=control_failure,  # with a control: a note (e.g. "DNS over HTTPS only"), or None
        final_failure=book.failure, failed_operation=book.failed_operation if book.failure else None,
        artifacts=artifacts)
