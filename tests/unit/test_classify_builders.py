"""Builders for hand-made measurements shaped like the engine's (no tests here; imported by the others).

`Build` lays the steps out on one clock, as the engine does, so each redirect hop's observations fall
in its own time window. Defaults describe a healthy HTTPS site measured with a working control; each
test changes only what its scenario is about.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping

from probe.classify import ClassifyContext, body_minhash, build_context, classify, extract_title, load_fingerprints
from probe.models import (
    CertificateValidation,
    ControlEndpoint,
    ControlHTTP,
    ControlResponse,
    DNSAnswer,
    DNSQueryObservation,
    DNSReply,
    HTTPHeader,
    HTTPObservation,
    HTTPRequest,
    HTTPResponse,
    Measurement,
    ProbeNetwork,
    TCPConnectObservation,
    TLSHandshakeObservation,
    Verdict,
)
from probe.models.control import ControlDNS
from probe.models.registry import RegistryObservation

HOST = "selftanu.kz"
URL = f"https://{HOST}/"
IP = "93.184.215.14"
IP2 = "93.184.215.15"
RESOLVER = "10.0.0.53"
DECOY = "example.org"
GOOD_ISSUER = "CN=R11,O=Let's Encrypt,C=US"
SITE_BODY = ("<html><head><title>Selftanu - news from Kazakhstan</title></head><body><h1>Selftanu</h1>"
             + " ".join(f"<p>Paragraph {i} about parliament, the economy, weather and culture in Almaty, "
                        f"Astana and Shymkent; story number {i}.</p>" for i in range(40))
             + "</body></html>").encode()

_FINGERPRINTS = load_fingerprints(None)


def context(*, not_bogon: Iterable[str] = ()) -> ClassifyContext:
    return build_context(fingerprints=_FINGERPRINTS, not_bogon=not_bogon)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def answer(ip: str) -> DNSAnswer:
    return DNSAnswer(answer_type="AAAA" if ":" in ip else "A", ipv4=None if ":" in ip else ip,
                     ipv6=ip if ":" in ip else None, ttl=300)


def validation(failure: str | None = None, issuer: str = GOOD_ISSUER, root: str | None = None
               ) -> CertificateValidation:
    return CertificateValidation(ca_bundle="certifi", failure=failure, leaf_issuer=issuer,
                                 root_issuer=root or issuer, leaf_subject=f"CN={HOST}",
                                 reason="unable to get local issuer certificate" if failure else None)


class Build:
    """A measurement written step by step, in the engine's order."""

    def __init__(self, url: str = URL) -> None:
        self.url = url
        self.clock = 0.0
        self.tid = 0
        self.queries: list[DNSQueryObservation] = []
        self.tcp: list[TCPConnectObservation] = []
        self.tls: list[TLSHandshakeObservation] = []
        self.requests: list[HTTPObservation] = []
        self.decoy_requests: list[HTTPObservation] = []
        self.bodies: dict[str, bytes] = {}
        self.control: ControlResponse | None = None
        self.control_failure: str | None = None
        self.final_failure: str | None = None
        self.failed_operation: str | None = None
        self.registry: list[RegistryObservation] = []  # the probe's registry look-ups (dns.takedown)

    def _step(self, duration: float) -> tuple[float, float]:
        t0 = self.clock
        self.clock = t0 + duration + 0.001
        return t0, t0 + duration

    # -- DNS ------------------------------------------------------------------------------------------
    def dns(self, host: str = HOST, *ips: str, failure: str | None = None, rcode: str | None = None,
            late: Iterable[DNSReply] = (), udp: bool = True) -> Build:
        """getaddrinfo plus UDP A (and AAAA when an IPv6 answer is given) to the ISP resolver."""
        ips = ips or ((IP,) if failure is None else ())
        t0, t = self._step(0.03)
        self.queries.append(DNSQueryObservation(
            engine="getaddrinfo", resolver_address="", hostname=host, query_type="ANY", t0=t0, t=t,
            failure=failure, answers=[answer(i) for i in ips]))
        if not udp:
            return self
        late_list = list(late)
        for qtype in ("A", "AAAA"):
            chosen = [i for i in ips if (":" in i) == (qtype == "AAAA")]
            q_failure = failure if failure else (None if chosen else "dns_no_answer")
            q_rcode = rcode or ("NXDOMAIN" if failure == "dns_nxdomain_error" else
                                None if failure == "generic_timeout_error" else "NOERROR")
            t0, t = self._step(0.02)
            self.queries.append(DNSQueryObservation(
                engine="udp", resolver_address=f"{RESOLVER}:53", hostname=host, query_type=qtype, t0=t0,
                t=t, failure=q_failure, rcode=q_rcode, answers=[answer(i) for i in chosen],
                late_replies=late_list if qtype == "A" else []))
        return self

    # -- TCP / TLS ------------------------------------------------------------------------------------
    def connect(self, ip: str = IP, port: int = 443, failure: str | None = None, dur: float = 0.02) -> Build:
        self.tid += 1
        t0, t = self._step(dur)
        self.tcp.append(TCPConnectObservation(ip=ip, port=port, t0=t0, t=t, failure=failure,
                                              transaction_id=self.tid))
        return self

    def handshake(self, ip: str = IP, sni: str = HOST, failure: str | None = None, dur: float = 0.03,
                  port: int = 443, decoy: bool = False, issuer: str = GOOD_ISSUER,
                  root: str | None = None) -> Build:
        t0, t = self._step(dur)
        completed = failure is None or failure.startswith("ssl_") and failure != "ssl_failed_handshake"
        self.tls.append(TLSHandshakeObservation(
            ip=ip, port=port, server_name=sni, is_decoy=decoy, t0=t0, t=t, failure=failure,
            tls_version="TLSv1.3" if completed else None,
            validation=validation(failure if completed else None, issuer, root) if completed else None,
            transaction_id=self.tid))
        return self

    def decoy(self, ip: str = IP, failure: str | None = "ssl_invalid_hostname", dur: float = 0.01,
              port: int = 443) -> Build:
        """A decoy handshake; by default it completes (its chain is not valid for the decoy name)."""
        return self.handshake(ip, DECOY, failure, dur, port=port, decoy=True)

    # -- HTTP -----------------------------------------------------------------------------------------
    def get(self, url: str | None = None, ip: str = IP, status: int = 200, body: bytes | None = SITE_BODY,
            headers: Mapping[str, str] | None = None, failure: str | None = None, dur: float = 0.05,
            port: int | None = None, keep_body: bool = True, hold: float | None = None) -> Build:
        """A GET taking `dur`; with `hold`, its response head came `hold` after the request."""
        self._get(self.requests, url or self.url, ip, status, body, headers, failure, dur, port, keep_body, hold,
                  host=None)
        return self

    def decoy_get(self, ip: str = IP, body: bytes = SITE_BODY, dur: float = 0.02, hold: float = 0.01,
                  failure: str | None = None) -> Build:
        """GET / under the decoy name to the same address, after the real request."""
        scheme = "https" if self.url.startswith("https") else "http"
        self._get(self.decoy_requests, f"{scheme}://{DECOY}/", ip, 200, body, None, failure, dur, None, True,
                  hold, host=DECOY)
        return self

    def _get(self, into: list[HTTPObservation], url: str, ip: str, status: int, body: bytes | None,
             headers: Mapping[str, str] | None, failure: str | None, dur: float, port: int | None,
             keep_body: bool, hold: float | None, *, host: str | None) -> None:
        port = port or (443 if url.startswith("https") else 80)
        t0, t = self._step(dur)
        response = None
        if failure is None:
            data = body or b""
            hdrs = [HTTPHeader(name=k, value=v) for k, v in (headers or {"Content-Type": "text/html"}).items()]
            if data and keep_body:
                self.bodies[sha(data)] = data
            response = HTTPResponse(code=status, headers=hdrs, body_length=len(data),
                                    body_sha256=sha(data) if data else None, title=extract_title(data))
        into.append(HTTPObservation(
            ip=ip, port=port, scheme="https" if url.startswith("https") else "http",
            request=HTTPRequest(method="GET", url=url, headers=[HTTPHeader(name="Host", value=host)] if host else []),
            response=response, t0=t0, t=t, t_response=t0 + hold if hold is not None and response else None,
            failure=failure, transaction_id=self.tid))

    def ok_hop(self, url: str | None = None, ip: str = IP, **get: object) -> Build:
        """Connect, handshake (https) and GET, all fine."""
        url = url or self.url
        https = url.startswith("https")
        self.connect(ip, 443 if https else 80)
        if https:
            self.handshake(ip, url.split("/")[2])
        return self.get(url, ip, **get)  # type: ignore[arg-type]

    # -- control and end ------------------------------------------------------------------------------
    def with_control(self, *, addresses: Iterable[str] = (IP,), dns_failure: str | None = None,
                     endpoints: Iterable[ControlEndpoint] | None = None, http: ControlHTTP | None = None,
                     body: bytes = SITE_BODY, status: int = 200, final_url: str | None = None,
                     hold_s: float | None = None, transfer_s: float | None = None) -> Build:
        addrs = list(addresses)
        https = self.url.startswith("https")
        eps = list(endpoints) if endpoints is not None else [
            ControlEndpoint(ip=a, port=443 if https else 80, tls_attempted=https,
                            cert_valid_for_host=True if https else None,
                            tls_issuer=GOOD_ISSUER if https else None) for a in addrs]
        self.control = ControlResponse(
            helper="https://control.example/", dns=ControlDNS(failure=dns_failure, addresses=addrs),
            endpoints=eps, http=http if http is not None else ControlHTTP(
                status_code=status, title=extract_title(body), body_length=len(body), body_sha256=sha(body),
                body_minhash=body_minhash(body), final_url=final_url or self.url,
                headers=[HTTPHeader(name="Content-Type", value="text/html")], hold_s=hold_s, transfer_s=transfer_s))
        return self

    def no_control(self, why: str = "control helpers unreachable: generic_timeout_error") -> Build:
        self.control, self.control_failure = None, why
        return self

    def held(self, *statuses: str) -> Build:
        """The probe's WHOIS look-up of the registered name lists these statuses."""
        self.registry.append(RegistryObservation(protocol="whois", server="whois.nic.kz:43", domain=HOST, t0=self.clock,
                                                 t=self.clock + 0.1, found=True, statuses=list(statuses)))
        return self

    def stop(self, failure: str, operation: str) -> Build:
        self.final_failure, self.failed_operation = failure, operation
        return self

    def measurement(self) -> Measurement:
        return Measurement(
            measurement_id=str(uuid.UUID(int=1)), input=self.url, test_start_time="2026-11-26T23:20:05.000000Z",
            measurement_runtime_s=self.clock, software_version="0.1.0",
            network=ProbeNetwork(probe_asn="AS9198", probe_cc="KZ", resolver_address=RESOLVER),
            queries=self.queries, tcp_connect=self.tcp, tls_handshakes=self.tls, requests=self.requests,
            decoy_requests=self.decoy_requests,
            control=self.control, control_failure=self.control_failure, final_failure=self.final_failure,
            failed_operation=self.failed_operation, registry=self.registry)

    def verdict(self, ctx: ClassifyContext | None = None, bodies: Mapping[str, bytes] | None = None) -> Verdict:
        return classify(self.measurement(), bodies=self.bodies if bodies is None else bodies,
                        context=ctx or context())


def healthy(url: str = URL) -> Build:
    """A site that works: resolved, connected, handshaked, fetched; the control agrees."""
    return Build(url).dns(url.split("/")[2]).ok_hop().with_control()


def control_endpoint(ip: str = IP, *, tcp_failure: str | None = None, tls_failure: str | None = None,
                     valid: bool | None = True, issuer: str | None = GOOD_ISSUER, port: int = 443
                     ) -> ControlEndpoint:
    return ControlEndpoint(ip=ip, port=port, tcp_failure=tcp_failure, tls_failure=tls_failure,
                           tls_attempted=tcp_failure is None, cert_valid_for_host=valid if tcp_failure is None
                           else None, tls_issuer=issuer)


def control_http(*, failure: str | None = None, status: int | None = 200, body: bytes = SITE_BODY,
                 redirects: int = 0, final_url: str = URL, headers: Mapping[str, str] | None = None) -> ControlHTTP:
    if failure is not None:
        return ControlHTTP(failure=failure)
    return ControlHTTP(status_code=status, title=extract_title(body), body_length=len(body),
                       body_sha256=sha(body), body_minhash=body_minhash(body), final_url=final_url,
                       redirects=redirects, headers=[HTTPHeader(name=k, value=v) for k, v in (headers or {}).items()])
