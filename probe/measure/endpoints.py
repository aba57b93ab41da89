"""One hop's connection steps: TCP to every address, TLS on each (https), decoy SNI where it matters.

Returns every observation plus the first working connection for HTTP. It records; it never decides
whether anything is blocked (that is `probe.classify`).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

from probe.models import TCPConnectObservation, TLSHandshakeObservation
from probe.models.settings import MeasureSettings
from probe.net.artifacts import ArtifactSink
from probe.net.clock import Clock
from probe.net.tcp import tcp_connect
from probe.net.tls import tls_handshake

# A real handshake slower than this gets a decoy handshake for comparison (throttling evidence).
SLOW_HANDSHAKE_S = 1.0
MAX_ADDRESSES = 6


@dataclass
class Connection:
    ip: str
    port: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    transaction_id: int


@dataclass
class HopConnections:
    tcp: list[TCPConnectObservation] = field(default_factory=list)
    tls: list[TLSHandshakeObservation] = field(default_factory=list)
    chosen: Connection | None = None
    failure: str | None = None
    failed_operation: str | None = None
    local_addresses: set[str] = field(default_factory=set)


class TransactionIds:
    def __init__(self) -> None:
        self._next = 0

    def take(self) -> int:
        self._next += 1
        return self._next


async def _plain_stream(sock: socket.socket) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(sock=sock)


async def connect_all(addresses: list[str], *, port: int, https: bool, server_name: str,
                      settings: MeasureSettings, clock: Clock, sink: ArtifactSink,
                      ids: TransactionIds) -> HopConnections:
    hop = HopConnections()
    addresses = addresses[:MAX_ADDRESSES]
    tids = [ids.take() for _ in addresses]
    results = await asyncio.gather(*(
        tcp_connect(ip, port, timeout_s=settings.timeouts.tcp_s, clock=clock, transaction_id=tid)
        for ip, tid in zip(addresses, tids, strict=True)))
    connected: list[tuple[str, int, socket.socket]] = []
    for (obs, sock), tid in zip(results, tids, strict=True):
        hop.tcp.append(obs)
        if sock is not None:
            hop.local_addresses.add(str(sock.getsockname()[0]))
            connected.append((obs.ip, tid, sock))
    if not connected:
        hop.failure, hop.failed_operation = _first_failure([o.failure for o in hop.tcp]), "connect"
        return hop
    if not https:
        ip, tid, sock = connected[0]
        for _, _, other in connected[1:]:
            other.close()
        reader, writer = await _plain_stream(sock)
        hop.chosen = Connection(ip, port, reader, writer, tid)
        return hop
    await _handshake_all(hop, connected, port=port, server_name=server_name, settings=settings,
                         clock=clock, sink=sink, ids=ids)
    return hop


async def _handshake_all(hop: HopConnections, connected: list[tuple[str, int, socket.socket]], *, port: int,
                         server_name: str, settings: MeasureSettings, clock: Clock, sink: ArtifactSink,
                         ids: TransactionIds) -> None:
    results = await asyncio.gather(*(
        tls_handshake(sock, ip=ip, port=port, server_name=server_name, timeout_s=settings.timeouts.tls_s,
                      ca_bundle=settings.ca_bundle, clock=clock, sink=sink, transaction_id=tid)
        for ip, tid, sock in connected))
    decoy_ips: list[str] = []
    for obs, stream in results:
        hop.tls.append(obs)
        trusted = stream is not None and obs.failure is None
        if trusted and hop.chosen is None:
            assert stream is not None
            hop.chosen = Connection(obs.ip, port, stream.reader, stream.writer, obs.transaction_id)
        elif stream is not None:
            stream.close()  # not trusted, or not needed: never send HTTP to an impostor
        if stream is None or (obs.t - obs.t0) > SLOW_HANDSHAKE_S:
            decoy_ips.append(obs.ip)
    if decoy_ips and settings.decoy_sni and settings.decoy_sni != server_name:
        hop.tls.extend(await asyncio.gather(*(
            _decoy(ip, port, settings=settings, clock=clock, sink=sink, ids=ids) for ip in decoy_ips[:2])))
    if hop.chosen is None:
        hop.failure = _first_failure([o.failure for o in hop.tls if not o.is_decoy])
        hop.failed_operation = "tls_handshake"


async def _decoy(ip: str, port: int, *, settings: MeasureSettings, clock: Clock, sink: ArtifactSink,
                 ids: TransactionIds) -> TLSHandshakeObservation:
    """Same address, another name: tells SNI filtering (decoy works) from IP blocking (decoy fails)."""
    tid = ids.take()
    tcp, sock = await tcp_connect(ip, port, timeout_s=settings.timeouts.tcp_s, clock=clock, transaction_id=tid)
    if sock is None:
        return TLSHandshakeObservation(ip=ip, port=port, server_name=settings.decoy_sni, is_decoy=True,
                                       t0=tcp.t0, t=tcp.t, failure=tcp.failure, transaction_id=tid)
    obs, stream = await tls_handshake(sock, ip=ip, port=port, server_name=settings.decoy_sni,
                                      timeout_s=settings.timeouts.tls_s, ca_bundle=settings.ca_bundle,
                                      clock=clock, sink=sink, is_decoy=True, transaction_id=tid)
    if stream is not None:
        stream.close()
    return obs


def _first_failure(items: list[str | None]) -> str | None:
    return next((f for f in items if f), None)
