"""Measure one URL, like a lab notebook: resolve → connect → handshake → GET, hop by hop, + control.

A slow GET is followed by a decoy GET to the same address under another name (`decoy.py`).

Every step's observation is appended in order; a failure ends the measurement at that step and is
recorded with its OONI operation. The control helper is asked in parallel, once the probe knows which
addresses it resolved. This module measures; it does not classify or store.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import uuid
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from probe import __version__, failures
from probe.measure.decoy import decoy_get, wants_decoy
from probe.measure.endpoints import TransactionIds, connect_all
from probe.measure.registry import ask_registry, should_ask
from probe.measure.resolve import HostResolution, resolve_host
from probe.measure.slot import Slot, Waiting, just_wait
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
from probe.models.registry import RegistryObservation
from probe.models.settings import MeasureSettings
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock, measurement_clock, utc_now_iso
from probe.net.fetch import Connected, FetchSettings, NotConnected, URLTarget, follow, parse_target
from probe.net.scope import private_target


class ControlSource(Protocol):
    """What the measurement needs from a control client (see probe.control.client.api.ControlClient)."""

    async def query(self, url: str, addresses: list[str]) -> tuple[ControlResponse | None, str | None]: ...


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
    wait: Waiting = just_wait  # each network exchange goes through it (the runner's slot may be lent)
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
                      slot: Slot | None = None) -> MeasuredURL:
    """Measure `url`. A runner's `slot` (its share of --parallel) is lent while a step hears nothing
    (`probe.measure.slot`) and given up once the probe's own steps are over, before waiting for racing
    DNS replies and the control's answer: waiting costs nothing, so a runner can start another URL."""
    start = utc_now_iso()
    book = _Notebook(url=url, settings=settings, resolver=resolver, clock=measurement_clock(),
                     wait=slot.wait if slot is not None else just_wait)
    control_task: asyncio.Task[tuple[ControlResponse | None, str | None]] | None = None
    try:
        control_task = await _hops(book, url, control)
        if slot is not None:
            slot.give_up()
        queries = [q for r in book.resolutions.values() for q in await r.finish()]
        control_response, control_failure = await control_task if control_task else (None, "no control configured")
    except BaseException:  # cancelled (run abandoned): leave nothing running behind us
        for task in [control_task, *(t for r in book.resolutions.values() for t in r.pending)]:
            if task is not None:
                task.cancel()
        raise
    if control_response is not None and control_response.client_ip:
        book.own_addresses.add(control_response.client_ip)
    control_response = _keep_registry_answer(control_response, book.sink)
    host = urlsplit(url).hostname or ""
    registry: list[RegistryObservation] = []
    if should_ask(failure=book.failure, operation=book.failed_operation, control=control_response,
                  first_hop=host in book.resolutions and not book.resolutions[host].addresses):
        registry = await ask_registry(host, settings=settings, clock=book.clock, sink=book.sink)
    measurement = _record(book, start, network, category_code, queries, control_response, control_failure)
    return MeasuredURL(measurement=measurement.model_copy(update={"registry": registry}),
                       artifacts=book.sink.items(),
                       own_addresses=book.own_addresses,
                       public_ip=control_response.client_ip if control_response else None)


async def _hops(book: _Notebook, url: str, control: ControlSource | None
                ) -> asyncio.Task[tuple[ControlResponse | None, str | None]] | None:
    """Every hop of the redirect chain (the one fetch pipeline, `probe.net.fetch.follow`); returns the
    control's task, started once the first hop's addresses are known (even when our DNS failed)."""
    control_task = None

    def ask_control(addresses: list[str]) -> None:
        nonlocal control_task
        if control is not None and control_task is None:
            control_task = asyncio.create_task(control.query(url, addresses))

    first = parse_target(url)
    if first is None:  # the lists refuse such URLs; a caller's own URL still gets a recorded failure
        ask_control([])
        book.fail(f"{failures.UNKNOWN_PREFIX}not an http(s) URL with a valid host and port", "resolve")
        return control_task

    async def connect(target: URLTarget, redirects: int) -> Connected | NotConnected:
        addresses = await _addresses(book, target.host)
        ask_control(addresses or [])
        if addresses is None:
            return NotConnected(book.failure)
        return await _connect(book, target, addresses)

    s = book.settings
    chain = await follow(first, connect=connect, clock=book.clock, sink=book.sink,
                         settings=FetchSettings(user_agent=s.user_agent, timeout_s=s.timeouts.http_s,
                                                body_cap=s.body_cap_bytes, max_redirects=s.max_redirects),
                         stop_before=None if s.allow_private_targets else
                         lambda current, following: _into_private(current, following, s.not_bogon),
                         waiting=book.wait)
    book.requests.extend(chain.requests)
    for obs in chain.requests:  # a slow page: the same address under the decoy name (throttling by name?)
        if wants_decoy(obs, settings=s, host=urlsplit(obs.request.url).hostname or ""):
            book.decoy_requests.append(await book.wait(decoy_get(
                obs.ip, obs.port, https=obs.scheme == "https", settings=s, clock=book.clock, sink=book.sink,
                ids=book.ids)))
    if chain.failed_operation == "http_round_trip":
        book.fail(chain.failure, "http_round_trip")
    return control_task


async def _addresses(book: _Notebook, host: str) -> list[str] | None:
    """The hop's addresses (resolving each host once per measurement), or None when resolving failed."""
    if _is_ip(host):
        return [host.strip("[]")]
    if host not in book.resolutions:
        book.resolutions[host] = await book.wait(resolve_host(host, resolver=book.resolver, settings=book.settings,
                                                              clock=book.clock, sink=book.sink))
    resolution = book.resolutions[host]
    if not resolution.addresses:
        book.fail(resolution.failure, "resolve")
        return None
    return resolution.addresses


async def _connect(book: _Notebook, target: URLTarget, addresses: list[str]) -> Connected | NotConnected:
    """Connect (and handshake) to every address of one hop; the first usable connection carries the GET."""
    hop = await book.wait(connect_all(addresses, port=target.port, https=target.https, server_name=target.host,
                                      settings=book.settings, clock=book.clock, sink=book.sink, ids=book.ids))
    book.tcp.extend(hop.tcp)
    book.tls.extend(hop.tls)
    # Our own source addresses are scrubbed later; loopback ones are not the volunteer's identity
    # (and equal the target's address when measuring a local server).
    book.own_addresses |= {a for a in hop.local_addresses if not ipaddress.ip_address(a).is_loopback}
    if hop.chosen is None:
        book.fail(hop.failure, hop.failed_operation or "connect")
        return NotConnected(hop.failure)
    conn = hop.chosen
    return Connected(ip=conn.ip, reader=conn.reader, writer=conn.writer, transaction_id=conn.transaction_id)


def _into_private(url: str, target: str, public_ranges: list[str]) -> bool:
    """A redirect from a public address into a private one. A private target measured on purpose (a
    test bed the volunteer pointed the probe at) may redirect within itself."""
    return private_target(target, public_ranges=public_ranges) is not None and \
        private_target(url, public_ranges=public_ranges) is None


def _keep_registry_answer(control: ControlResponse | None, sink: ArtifactSink) -> ControlResponse | None:
    """The control's raw registry answer becomes an artifact of ours; the record keeps its SHA-256 only."""
    if control is None or control.registry is None:
        return control
    obs = control.registry.observation
    raw = b""
    if control.registry.raw_b64:
        try:
            raw = base64.b64decode(control.registry.raw_b64, validate=True)
        except ValueError:
            raw = b""  # a helper that sends garbage: the statuses it reported stay, no raw answer
    obs = obs.model_copy(update={"raw_sha256": sink.add("registry_answer", raw) if raw else None,
                                 "raw_length": len(raw)})
    return control.model_copy(update={"registry": control.registry.model_copy(
        update={"observation": obs, "raw_b64": None})})


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
