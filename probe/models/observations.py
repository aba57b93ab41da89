"""Observations: what one network step saw, success or failure, in OONI's archival field names.

Each step in `probe.net` returns exactly one of these. Raw bytes (DNS wire replies, DER certificates,
HTTP bodies) are not held here: they are artifacts, referenced by their SHA-256 (see `artifacts.py`).
`t0`/`t` are seconds since the measurement started (monotonic clock).
"""

from __future__ import annotations

from typing import Literal

from probe.models.base import Frozen

DNSEngine = Literal["getaddrinfo", "udp", "doh"]
QueryType = Literal["A", "AAAA", "ANY"]


class DNSAnswer(Frozen):
    answer_type: str  # "A", "AAAA", "CNAME", ...
    ipv4: str | None = None
    ipv6: str | None = None
    hostname: str | None = None
    ttl: int | None = None


class DNSReply(Frozen):
    """One reply datagram: the first, or a later one that raced it (on-path injection)."""

    t: float
    rcode: str
    answers: list[DNSAnswer] = []
    raw_sha256: str | None = None
    source: str | None = None  # "ip:port" the datagram came from


class DNSQueryObservation(Frozen):
    engine: DNSEngine
    resolver_address: str  # "" for getaddrinfo (the system decides)
    hostname: str
    query_type: QueryType
    t0: float
    t: float
    failure: str | None = None
    rcode: str | None = None
    answers: list[DNSAnswer] = []
    raw_reply_sha256: str | None = None
    late_replies: list[DNSReply] = []  # extra replies within the listening window after the first

    def addresses(self) -> list[str]:
        return [a.ipv4 or a.ipv6 or "" for a in self.answers if a.ipv4 or a.ipv6]


class TCPConnectObservation(Frozen):
    ip: str
    port: int
    t0: float
    t: float
    failure: str | None = None
    transaction_id: int = 0


class CertificateValidation(Frozen):
    """Why a chain is or is not trusted, checked against a named CA bundle."""

    ca_bundle: str  # "certifi" or a path/name the caller gave
    failure: str | None = None  # ssl_unknown_authority / ssl_invalid_hostname / ssl_invalid_certificate
    reason: str | None = None  # the verifier's own words
    leaf_subject: str | None = None
    leaf_issuer: str | None = None
    root_issuer: str | None = None  # issuer of the last certificate the server sent
    not_before: str | None = None
    not_after: str | None = None


class TLSHandshakeObservation(Frozen):
    ip: str
    port: int
    server_name: str
    is_decoy: bool = False  # a handshake with another SNI to the same IP (SNI filtering vs IP blocking)
    alpn: list[str] = []
    t0: float
    t: float
    failure: str | None = None
    tls_version: str | None = None
    cipher_suite: str | None = None
    negotiated_protocol: str | None = None
    peer_certificates: list[str] = []  # SHA-256 of each DER certificate, leaf first (artifacts)
    validation: CertificateValidation | None = None
    transaction_id: int = 0


class HTTPHeader(Frozen):
    name: str
    value: str


class HTTPRequest(Frozen):
    method: str
    url: str
    headers: list[HTTPHeader]


class HTTPResponse(Frozen):
    code: int
    headers: list[HTTPHeader]
    body_length: int  # bytes kept (after decompression, capped)
    body_sha256: str | None = None  # artifact
    body_is_truncated: bool = False
    title: str | None = None

    def header(self, name: str) -> str | None:
        low = name.lower()
        for h in self.headers:
            if h.name.lower() == low:
                return h.value
        return None


class HTTPObservation(Frozen):
    ip: str
    port: int
    scheme: Literal["http", "https"]
    request: HTTPRequest
    response: HTTPResponse | None = None
    t0: float
    t: float
    t_response: float | None = None  # when the response head had arrived (t0..t_response: the hold)
    failure: str | None = None
    transaction_id: int = 0
