"""TLS step: a handshake with an explicit SNI on an already-connected socket.

The handshake itself does not verify (so the full chain the server sent is always captured, as DER
artifacts); `probe.net.certs.validate_chain` then says whether and why it is trusted. When the
handshake completes but the chain is not trusted, `failure` carries the validation failure
(ssl_unknown_authority, ssl_invalid_hostname, ssl_invalid_certificate), as OONI reports it; a decoy
handshake keeps `failure` for handshake-level problems only, since its name is not the site's.
"""

from __future__ import annotations

import _ssl
import asyncio
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from probe import failures
from probe.failures import scrub_addresses
from probe.models import CertificateValidation, TLSHandshakeObservation
from probe.net.artifacts import ArtifactSink
from probe.net.certs import validate_chain
from probe.net.clock import Clock
from probe.web.html import clean_text

ALPN = ["http/1.1"]


@dataclass
class TLSStream:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


def _client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # verified separately, after capturing the chain
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(ALPN)
    return ctx


_CONTEXT = _client_context()


def _peer_chain(ssl_object: ssl.SSLObject) -> list[bytes]:
    inner = getattr(ssl_object, "_sslobj", None)
    chain = inner.get_unverified_chain() if inner is not None else None  # CPython ≥ 3.10 internal API
    if chain:
        return [cert.public_bytes(_ssl.ENCODING_DER) for cert in chain]
    leaf = ssl_object.getpeercert(binary_form=True)
    return [leaf] if leaf else []


async def tls_handshake(sock: socket.socket, *, ip: str, port: int, server_name: str, timeout_s: float,
                        ca_bundle: Path | None, clock: Clock, sink: ArtifactSink, is_decoy: bool = False,
                        transaction_id: int = 0) -> tuple[TLSHandshakeObservation, TLSStream | None]:
    """Handshake on `sock` (consumed: closed on failure). Returns the observation and the stream."""
    t0 = clock()
    base = dict(ip=ip, port=port, server_name=server_name, is_decoy=is_decoy, alpn=ALPN, t0=t0,
                transaction_id=transaction_id)
    try:
        async with asyncio.timeout(timeout_s):  # not wait_for: no task of its own per step
            reader, writer = await asyncio.open_connection(sock=sock, ssl=_CONTEXT, server_hostname=server_name,
                                                           ssl_handshake_timeout=timeout_s + 1)
    except Exception as exc:  # noqa: BLE001 - a failed handshake is an observation
        sock.close()
        return TLSHandshakeObservation(**base, t=clock(), failure=failures.classify_exception(exc)), None
    t = clock()
    try:
        obs = _completed(writer, base, t=t, server_name=server_name, ca_bundle=ca_bundle, sink=sink,
                         is_decoy=is_decoy)
    except Exception as exc:  # noqa: BLE001 - a chain we cannot even read is evidence, not a crash
        writer.close()
        reason = scrub_addresses(f"{type(exc).__name__}: {exc}")
        return TLSHandshakeObservation(**base, t=t, failure=failures.SSL_INVALID_CERTIFICATE,
                                       validation=CertificateValidation(
                                           ca_bundle=str(ca_bundle or "certifi"),
                                           failure=failures.SSL_INVALID_CERTIFICATE,
                                           reason=clean_text(f"unreadable chain: {reason}"))), None
    return obs, TLSStream(reader, writer)


def _completed(writer: asyncio.StreamWriter, base: dict[str, object], *, t: float, server_name: str,
               ca_bundle: Path | None, sink: ArtifactSink, is_decoy: bool) -> TLSHandshakeObservation:
    ssl_object = writer.get_extra_info("ssl_object")
    ders = _peer_chain(ssl_object)
    hashes = [sink.add("x509_der", der) for der in ders]
    validation = validate_chain(ders, hostname=server_name, ca_bundle=ca_bundle)
    cipher = ssl_object.cipher()
    return TLSHandshakeObservation(
        **base, t=t, tls_version=ssl_object.version(), cipher_suite=cipher[0] if cipher else None,
        negotiated_protocol=ssl_object.selected_alpn_protocol(), peer_certificates=hashes,
        validation=validation, failure=None if is_decoy else validation.failure)
