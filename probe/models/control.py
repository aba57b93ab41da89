"""What the probe sends the control helper and what the helper answers (the wire format of the API)."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from probe.models.base import Frozen
from probe.models.observations import HTTPHeader
from probe.models.registry import ControlRegistry


class ControlRequest(Frozen):
    url: str = Field(max_length=4096)
    addresses: list[str] = Field(default=[], max_length=32)  # what the probe resolved


class ControlDNS(Frozen):
    failure: str | None = None
    addresses: list[str] = []


class ControlEndpoint(Frozen):
    """TCP (and for https, TLS) from the uncensored vantage to one address of the probe's or its own."""

    ip: str
    port: int
    tcp_failure: str | None = None
    tls_failure: str | None = None  # None with tls_attempted means a handshake completed
    tls_attempted: bool = False
    cert_valid_for_host: bool | None = None  # a chain valid for the host came back from this address
    tls_issuer: str | None = None


class ControlHTTP(Frozen):
    failure: str | None = None
    status_code: int | None = None
    headers: list[HTTPHeader] = []
    title: str | None = None
    body_length: int | None = None
    body_sha256: str | None = None
    body_is_truncated: bool = False
    body_minhash: list[int] = []  # for similarity with the probe's body, without shipping the body
    final_url: str | None = None
    redirects: int = 0
    # The final GET's timing (None from helpers that do not say): request sent → response head, and
    # head → end of body. The uncensored reference for throttling: a slow site is slow here too.
    hold_s: float | None = Field(default=None, ge=0)
    transfer_s: float | None = Field(default=None, ge=0)


class ControlResponse(Frozen):
    helper: str  # the helper's URL (or "doh:<url>" for the DNS-only fallback)
    dns: ControlDNS
    endpoints: list[ControlEndpoint] = []
    http: ControlHTTP | None = None  # None: the control source cannot fetch (DoH fallback)
    client_ip: str | None = None  # the requester's public IP as the helper saw it; never stored
    software_version: str = ""
    registry: ControlRegistry | None = None  # asked only when the name resolves nowhere (dns.takedown)

    @field_validator("client_ip")
    @classmethod
    def _an_address_or_nothing(cls, value: str | None) -> str | None:
        """A helper that sends something else (buggy or hostile) is not believed: it is used as a
        pattern to scrub with, and "1.0" would rewrite numbers in the evidence."""
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value.strip("[]")))
        except ValueError:
            return None
