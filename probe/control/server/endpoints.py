"""The helper's DNS and connection steps: resolve a host itself, then TCP (+TLS) to chosen addresses.

It reuses the probe's own network steps (`probe.net`), so the helper and the probe observe the same
way and report the same failure strings. Every address passes the `AddressGuard` before any packet is
sent to it. It does not speak HTTP (see `fetch.py`) and does not decide anything about censorship.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from probe import failures
from probe.control.server.dnsudp import query_addresses
from probe.control.server.guard import normalise_ip
from probe.control.server.settings import HelperSettings
from probe.models.control import ControlDNS, ControlEndpoint
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.dns import resolve_getaddrinfo
from probe.net.tcp import tcp_connect
from probe.net.tls import tls_handshake


@dataclass
class Stream:
    """A measured connection the helper may send its GET over (for https: a trusted handshake)."""

    ip: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


async def resolve(host: str, *, settings: HelperSettings, clock: Clock, sink: ArtifactSink) -> ControlDNS:
    """The helper's own answer for `host`: A and AAAA over UDP to its resolver, or getaddrinfo."""
    literal = normalise_ip(host)
    if literal is not None:
        return ControlDNS(addresses=[str(literal)])
    if settings.resolver is None:
        obs = await resolve_getaddrinfo(host, timeout_s=settings.dns_timeout_s, clock=clock)
        return ControlDNS(failure=obs.failure, addresses=_unique(obs.addresses()))
    replies = await asyncio.gather(*(
        query_addresses(host, qtype, resolver=settings.resolver, timeout_s=settings.dns_timeout_s)
        for qtype in ("A", "AAAA")))
    addresses = _unique([ip for reply in replies for ip in reply.addresses])
    if addresses:
        return ControlDNS(addresses=addresses)
    # NXDOMAIN on A says more than "no AAAA": report the first specific failure.
    failure = next((r.failure for r in replies if r.failure and r.failure != failures.DNS_NO_ANSWER),
                   failures.DNS_NO_ANSWER)
    return ControlDNS(failure=failure, addresses=[])


def choose_addresses(own: list[str], theirs: list[str], *, limit: int) -> list[str]:
    """The union of both sets, alternating between them so each is represented when cut to `limit`."""
    mine, probe = _unique(own), _unique(theirs)
    out: list[str] = []
    for index in range(max(len(mine), len(probe))):
        for items in (mine, probe):
            if index < len(items) and items[index] not in out:
                out.append(items[index])
    return out[:limit]


async def measure_endpoint(ip: str, port: int, *, https: bool, server_name: str, settings: HelperSettings,
                           clock: Clock, sink: ArtifactSink) -> tuple[ControlEndpoint, Stream | None]:
    """TCP, then for https a handshake with SNI = host; the stream is kept only when it can be used."""
    refusal = settings.guard.refusal(ip)
    if refusal is not None:
        return ControlEndpoint(ip=ip, port=port, tcp_failure=refusal), None
    tcp, sock = await tcp_connect(ip, port, timeout_s=settings.tcp_timeout_s, clock=clock)
    if sock is None:
        return ControlEndpoint(ip=ip, port=port, tcp_failure=tcp.failure or failures.EOF_ERROR), None
    if not https:
        try:
            reader, writer = await asyncio.open_connection(sock=sock)
        except OSError as exc:
            sock.close()
            return ControlEndpoint(ip=ip, port=port, tcp_failure=failures.classify_exception(exc)), None
        return ControlEndpoint(ip=ip, port=port), Stream(ip, reader, writer)
    obs, tls = await tls_handshake(sock, ip=ip, port=port, server_name=server_name,
                                   timeout_s=settings.tls_timeout_s, ca_bundle=settings.ca_bundle,
                                   clock=clock, sink=sink)
    validation = obs.validation
    valid = None if validation is None else validation.failure is None
    endpoint = ControlEndpoint(ip=ip, port=port, tls_attempted=True, tls_failure=obs.failure,
                               cert_valid_for_host=valid, tls_issuer=validation.leaf_issuer if validation else None)
    if tls is None:
        return endpoint, None
    if not valid:
        tls.close()  # never send the request to a host that could not prove it is the site
        return endpoint, None
    return endpoint, Stream(ip, tls.reader, tls.writer)


async def measure_endpoints(addresses: list[str], port: int, *, https: bool, server_name: str,
                            settings: HelperSettings, clock: Clock,
                            sink: ArtifactSink) -> list[tuple[ControlEndpoint, Stream | None]]:
    """All endpoints at once; on cancellation every stream opened so far is closed."""
    tasks = [asyncio.ensure_future(measure_endpoint(ip, port, https=https, server_name=server_name,
                                                    settings=settings, clock=clock, sink=sink))
             for ip in addresses]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is None:
                stream = task.result()[1]
                if stream is not None:
                    stream.close()
        raise


def _unique(addresses: list[str]) -> list[str]:
    out: list[str] = []
    for text in addresses:
        ip = normalise_ip(text)
        if ip is not None and str(ip) not in out:
            out.append(str(ip))
    return out
