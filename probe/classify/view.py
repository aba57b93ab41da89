"""A measurement seen the way the rules read it: redirect hops with their own observations, and lookups.

The engine records flat lists (queries, connects, handshakes, requests). The rules need to know which
connect and handshake belong to which redirect hop, where the measurement stopped, what the control
saw for an address, and which HTTP body bytes are at hand. Building that view is all this module does;
it decides nothing. Observations are assigned to hops by time: hop k+1 starts when hop k's response
ended (`t0`/`t` come from one monotonic clock per measurement).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from probe import failures
from probe.models.control import ControlEndpoint, ControlHTTP, ControlResponse
from probe.models.measurement import Measurement
from probe.models.observations import (
    DNSQueryObservation,
    HTTPObservation,
    TCPConnectObservation,
    TLSHandshakeObservation,
)
from probe.web.location import browser_location

VALIDATION_FAILURES = frozenset({failures.SSL_UNKNOWN_AUTHORITY, failures.SSL_INVALID_HOSTNAME,
                                 failures.SSL_INVALID_CERTIFICATE})
# Failures that say the probe's own host or network cannot send, not that anything was blocked.
PROBE_NETWORK_FAILURES = frozenset({failures.NETWORK_UNREACHABLE, failures.NETWORK_DOWN,
                                    failures.ADDRESS_FAMILY_NOT_SUPPORTED})
RESOLVE, CONNECT = failures.RESOLVE, failures.CONNECT
TLS_HANDSHAKE, HTTP_ROUND_TRIP = failures.TLS_HANDSHAKE, failures.HTTP_ROUND_TRIP
_OPERATIONS = {RESOLVE: RESOLVE, CONNECT: CONNECT, TLS_HANDSHAKE: TLS_HANDSHAKE, HTTP_ROUND_TRIP: HTTP_ROUND_TRIP,
               failures.READ: HTTP_ROUND_TRIP, failures.WRITE: HTTP_ROUND_TRIP}
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What may stay as it is in a redirect's path or query (as probe.web.location has it).
_URL_SAFE = "/?#[]@!$&'()*+,;=:-._~%"


@functools.lru_cache(maxsize=8192)  # the same few names, asked about for every query and hop
def normal_host(host: str) -> str:
    """Lower-case ASCII (IDNA) host without a trailing dot, so URL hosts and query names compare."""
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


@functools.lru_cache(maxsize=8192)  # a measurement names its few addresses over and over (~15 look-ups each)
def normal_ip(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip.strip().strip("[]")))
    except ValueError:
        return ip


def endpoint_text(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def quoted(text: str | None) -> str:
    """A name or title as it appears in a reason sentence ("none" when absent)."""
    return f'"{text}"' if text is not None else "none"


def sentence(text: str) -> str:
    """Upper-case the first letter only (str.capitalize would lower-case "A" in "(A)")."""
    return text[:1].upper() + text[1:]


def seconds(duration: float) -> str:
    return f"{duration:.1f} s" if duration >= 1 else f"{duration:.2f} s"


def status_text(ctrl: ControlHTTP) -> str:
    """"status 200", or "status 200 after 2 redirects", for a control fetch."""
    hops = f" after {ctrl.redirects} redirect{'s' if ctrl.redirects > 1 else ''}" if ctrl.redirects else ""
    return f"status {ctrl.status_code}{hops}"


def handshake_completed(h: TLSHandshakeObservation) -> bool:
    """The TLS handshake itself finished (a chain that does not validate still completed it)."""
    return h.failure is None or h.failure in VALIDATION_FAILURES


@dataclass(frozen=True)
class Hop:
    """One URL of the redirect chain and the steps measured for it."""

    index: int
    url: str
    scheme: str
    host: str
    port: int
    tcp: tuple[TCPConnectObservation, ...]
    tls: tuple[TLSHandshakeObservation, ...]  # real SNI
    decoys: tuple[TLSHandshakeObservation, ...]  # decoy SNI to the same addresses
    request: HTTPObservation | None
    decoy_requests: tuple[HTTPObservation, ...] = ()  # GET / under the decoy name, after a slow request

    def decoy_request_for(self, ip: str) -> HTTPObservation | None:
        matches = [d for d in self.decoy_requests if normal_ip(d.ip) == normal_ip(ip)]
        return matches[-1] if matches else None

    def decoy_for(self, ip: str) -> TLSHandshakeObservation | None:
        matches = [d for d in self.decoys if normal_ip(d.ip) == normal_ip(ip)]
        return matches[-1] if matches else None

    def tls_used(self) -> TLSHandshakeObservation | None:
        """The handshake the hop's request went over (same transaction, else same address)."""
        if self.request is None:
            return None
        same_ip = [h for h in self.tls if normal_ip(h.ip) == normal_ip(self.request.ip)]
        same_tx = [h for h in same_ip if h.transaction_id == self.request.transaction_id]
        completed = [h for h in same_ip if h.failure is None]
        chosen = same_tx or completed or same_ip
        return chosen[-1] if chosen else None


@dataclass(frozen=True)
class View:
    measurement: Measurement
    hops: tuple[Hop, ...]
    stop: str | None  # operation where the measurement stopped (OONI name), None when it completed
    bodies: Mapping[str, bytes]

    @property
    def control(self) -> ControlResponse | None:
        return self.measurement.control

    @property
    def control_http(self) -> ControlHTTP | None:
        return self.control.http if self.control is not None else None

    def control_fetched(self) -> bool:
        """The control fetched the URL to its end (so the site works from outside)."""
        ctrl = self.control_http
        return ctrl is not None and ctrl.failure is None and ctrl.status_code is not None

    def queries_for(self, host: str) -> list[DNSQueryObservation]:
        """The probe's own lookups of `host` (DoH lookups are a control source, not the probe's network).

        Nothing for an address literal: the engine never looks one up, so a lookup recorded for it proves
        nothing.
        """
        if _is_ip(host):
            return []
        return [q for q in self.measurement.queries if q.engine != "doh" and normal_host(q.hostname) == host]

    def addresses_for(self, host: str) -> list[str]:
        """Addresses the probe's resolvers gave for `host`, first replies only, in order, once each."""
        if _is_ip(host):
            return [normal_ip(host)]
        seen: dict[str, None] = {}
        for q in self.queries_for(host):
            for ip in q.addresses():
                seen.setdefault(normal_ip(ip), None)
        return list(seen)

    def endpoint(self, ip: str, port: int) -> ControlEndpoint | None:
        """The control's own result for an address (same port preferred); None when it has none.

        An `unknown_failure` (e.g. the helper refusing a private address) is no result: it says
        nothing about the address, so it must not read as "the control could not connect".
        """
        if self.control is None:
            return None
        same_ip = [e for e in self.control.endpoints if normal_ip(e.ip) == normal_ip(ip)
                   and not (e.tcp_failure or "").startswith(failures.UNKNOWN_PREFIX)]
        same_port = [e for e in same_ip if e.port == port]
        chosen = same_port or same_ip
        return chosen[0] if chosen else None

    def body(self, sha256: str | None, length: int) -> bytes | None:
        """Body bytes by hash; b"" for an empty body; None when they are not at hand (pruned)."""
        if sha256 is None:
            return b"" if length == 0 else None
        return self.bodies.get(sha256)


@functools.lru_cache(maxsize=8192)  # asked for every query and hop about the same few hosts
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def split_url(url: str) -> SplitResult | None:
    """A URL from the wire split into parts, or None when it cannot be (an unclosed "[", a port that
    is no number in 0-65535, characters that change the host under NFKC): such a URL names no server."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port, which is what is being checked
    except ValueError:
        return None
    return parts


def _hop(index: int, url: str, obs: tuple[Sequence[TCPConnectObservation], Sequence[TLSHandshakeObservation]],
         request: HTTPObservation | None, decoys: Sequence[HTTPObservation] = ()) -> Hop:
    parts = split_url(url)
    scheme = (parts.scheme.lower() if parts is not None else "") or ("https" if url.lower().startswith(
        "https:") else "http")
    port = (parts.port if parts is not None else None) or _DEFAULT_PORTS.get(scheme, 80)
    host = normal_host(parts.hostname or "") if parts is not None else ""
    tcp, tls = obs
    return Hop(index=index, url=url, scheme=scheme, host=host, port=port,
               tcp=tuple(tcp), tls=tuple(h for h in tls if not h.is_decoy),
               decoys=tuple(h for h in tls if h.is_decoy), request=request, decoy_requests=tuple(decoys))


def follow_location(base_url: str, location: str) -> str | None:
    """Where a Location header leads: the engine's own rule (`probe.web.location`), shared."""
    return browser_location(base_url, location)


def _next_url(request: HTTPObservation) -> str | None:
    """The URL a redirect response points to; None when it is no redirect or its Location is unusable."""
    response = request.response
    if response is None or not 300 <= response.code < 400:
        return None
    location = response.header("location")
    return follow_location(request.request.url, location) if location else None


def _window(m: Measurement, start: float, end: float
            ) -> tuple[list[TCPConnectObservation], list[TLSHandshakeObservation]]:
    return ([o for o in m.tcp_connect if start <= o.t0 < end],
            [o for o in m.tls_handshakes if start <= o.t0 < end])


def build_hops(m: Measurement) -> tuple[Hop, ...]:
    """The redirect chain: one hop per request, plus the hop the measurement stopped in before its request."""
    hops: list[Hop] = []
    start = float("-inf")
    for index, request in enumerate(m.requests):
        # A decoy GET follows its request, before the next hop's request starts.
        until = m.requests[index + 1].t0 if index + 1 < len(m.requests) else float("inf")
        decoys = [d for d in m.decoy_requests if request.t <= d.t0 < until]
        hops.append(_hop(index, request.request.url, _window(m, start, request.t), request, decoys))
        start = request.t
    last = m.requests[-1] if m.requests else None
    stopped_early = m.final_failure is not None and _OPERATIONS.get(m.failed_operation or "") in (
        RESOLVE, CONNECT, TLS_HANDSHAKE)
    after = _window(m, start, float("inf"))
    if last is None:
        hops.append(_hop(0, m.input, after, None))
    elif last.failure is None and (nxt := _next_url(last)) and (stopped_early or after[0] or after[1]):
        hops.append(_hop(len(hops), nxt, after, None))
    return tuple(hops)


def _stop(m: Measurement, hops: Sequence[Hop]) -> str | None:
    if m.final_failure is None:
        return None
    if m.failed_operation in _OPERATIONS:
        return _OPERATIONS[m.failed_operation]
    last = hops[-1]
    if last.request is not None:
        return HTTP_ROUND_TRIP
    if last.tls:
        return TLS_HANDSHAKE
    return CONNECT if last.tcp else RESOLVE


def build_view(m: Measurement, bodies: Mapping[str, bytes]) -> View:
    hops = build_hops(m)
    return View(measurement=m, hops=hops, stop=_stop(m, hops), bodies=bodies)
