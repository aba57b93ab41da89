"""Answer one control request: the helper's DNS, endpoints (its addresses ∪ the probe's) and HTTP.

This is the measurement the helper performs from its uncensored vantage, within one time budget.
It never raises on a network failure (those are failure strings in the answer); a URL that is not
http(s) is the caller's problem (`parse_target` returns None and the server answers 400).
"""

from __future__ import annotations

import asyncio

from probe import __version__, failures
from probe.control.server.endpoints import Stream, choose_addresses, measure_endpoints, resolve
from probe.control.server.fetch import Fetch, Target
from probe.control.server.registry import registry_answer
from probe.control.server.settings import HelperSettings
from probe.models.control import ControlEndpoint, ControlHTTP, ControlRequest, ControlResponse
from probe.net.artifacts import ArtifactSink
from probe.net.clock import measurement_clock


async def answer(request: ControlRequest, target: Target, *, settings: HelperSettings,
                 client_ip: str | None) -> ControlResponse:
    clock = measurement_clock()
    sink = ArtifactSink()  # per request: the raw bytes are only needed until the summary is made
    dns = await resolve(target.host, settings=settings, clock=clock, sink=sink)
    addresses = choose_addresses(dns.addresses, request.addresses, limit=settings.max_endpoints)
    measured = await measure_endpoints(addresses, target.port, https=target.https, server_name=target.host,
                                       settings=settings, clock=clock, sink=sink)
    endpoints = [endpoint for endpoint, _ in measured]
    stream, failure = _first_usable(measured, own=set(dns.addresses))
    if dns.failure is not None:
        failure = dns.failure
    if stream is None and failure is None:
        failure = failures.DNS_NO_ANSWER
    fetch = Fetch(settings=settings, clock=clock, sink=sink, dns={target.host: dns})
    remaining = max(1.0, settings.budget_s - clock())
    try:
        http = await asyncio.wait_for(fetch.run(target, stream, failure), remaining)
    except TimeoutError:
        http = ControlHTTP(failure=failures.GENERIC_TIMEOUT, final_url=target.url)
    registry = await registry_answer(target.host, dns.failure, settings=settings, clock=clock)
    return ControlResponse(helper="", dns=dns, endpoints=endpoints, http=http, client_ip=client_ip,
                           software_version=__version__, registry=registry)


def _first_usable(measured: list[tuple[ControlEndpoint, Stream | None]],
                  own: set[str]) -> tuple[Stream | None, str | None]:
    """The first usable connection to one of the helper's own addresses; every other stream is closed.

    Without one, the failure to report for HTTP is that of the helper's own first address.
    """
    chosen: Stream | None = None
    failure: str | None = None
    for endpoint, stream in measured:
        mine = endpoint.ip in own
        if stream is not None and mine and chosen is None:
            chosen = stream
        elif stream is not None:
            stream.close()
        if mine and failure is None and stream is None:
            failure = endpoint.tcp_failure or endpoint.tls_failure
    return chosen, None if chosen is not None else failure
