"""One OONI `web_connectivity` measurement mapped to our `Measurement` (and its HTTP bodies), so our
own rules can classify what OONI's probe saw.

Reads web_connectivity 0.4 (classic) and 0.5 (LTE) test keys, and the older 0.0.x-0.3 ones where the
fields are the same (legacy failure names are translated, a control's `ips` read as `addrs`). OONI's
`t`/`t0` are kept when they order the steps; when they do not (OONI's simulated QA network writes 0
everywhere), each step is placed on a timeline by redirect depth (the `depth=N` tags, else the hop
whose host resolved to its address), which is how our rules tell redirect hops apart. OONI's
DNS-over-UDP lookups go to a public resolver OONI picks (1.1.1.1, 8.8.4.4), not to the network's own
resolver as ours do: for our rules they are a second opinion from outside the ISP's resolver, like
our DoH lookups, and are mapped with engine `doh` (their resolver address kept), unless they went to
the probe's own resolver (`resolver_ip`). Steps OONI took to addresses that only those outside
resolvers gave are left out: our engine connects only to what the network's resolvers answered, and
our rules read every connection as one to those answers. Version 0.4 writes no address on a handshake
or request (the connect it used is found by time and port) and writes a failed handshake's failure
on the request too (the request is then dropped: it never had a connection). Decoy
handshakes, late DNS replies and certificate validation are ours alone: an OONI measurement has
none, and the rules then say so. Pure: no I/O, no clock. Bad input raises `MappingError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from probe.models import (
    DNSAnswer,
    DNSQueryObservation,
    HTTPHeader,
    HTTPObservation,
    HTTPRequest,
    HTTPResponse,
    Measurement,
    ProbeNetwork,
    TCPConnectObservation,
    TLSHandshakeObservation,
)
from probe.ooni.control import map_control
from probe.ooni.fields import binary, failure_name, host_of, ip_text, split_address, text
from probe.web.html import extract_title

JSON = dict[str, Any]
_ENGINES = {"system": "getaddrinfo", "getaddrinfo": "getaddrinfo", "udp": "udp", "doh": "doh",
            "go": "getaddrinfo", "": "getaddrinfo"}
_RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
_DEPTH = re.compile(r"^depth=(\d+)$")
_NAMESPACE = uuid.UUID("6f6f6e69-0000-4000-8000-6d6561737572")  # ours: OONI ids -> stable UUIDs
_HOP_S = 10.0  # the width of one redirect hop on a rebuilt timeline


class MappingError(ValueError):
    """The measurement is not one we can read (a required field missing or of the wrong type)."""


@dataclass(frozen=True)
class Mapped:
    measurement: Measurement
    bodies: dict[str, bytes]  # HTTP bodies by SHA-256, for classification
    rebuilt_timeline: bool  # OONI's times did not order the steps


def ooni_time(stamp: object) -> str:
    """OONI's "YYYY-MM-DD HH:MM:SS" as our UTC ISO-8601."""
    value = str(stamp or "").strip()
    if not re.match(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}", value):
        raise MappingError(f"measurement_start_time {value!r} is not OONI's 'YYYY-MM-DD HH:MM:SS'")
    return value[:10] + "T" + value[11:19] + "Z"


def map_measurement(raw: JSON, *, key: str) -> Mapped:
    """Our view of one web_connectivity measurement; `key` (its dedup key) names it stably."""
    try:
        return _map(raw, key)
    except MappingError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError, ValidationError, binascii.Error) as exc:
        raise MappingError(f"not a web_connectivity measurement we can read ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:200]})") from exc


def _map(raw: JSON, key: str) -> Mapped:
    tk: JSON = raw.get("test_keys") or {}
    url = str(raw["input"])
    bodies: dict[str, bytes] = {}
    requests = [r for r in reversed(tk.get("requests") or []) if isinstance(r, dict)]
    own_resolver = str(raw.get("resolver_ip") or tk.get("client_resolver") or "")
    queries = [q for q in (_query(q, own_resolver) for q in tk.get("queries") or []) if q is not None]
    hosts = [host_of(url)] + [host_of(str((r.get("request") or {}).get("url") or "")) for r in requests]
    resolved = {ip: h for q in reversed(queries) for ip in q.addresses() for h in [q.hostname.lower()]}
    outside = _outside_only(queries)
    tcp_raw = [c for c in tk.get("tcp_connect") or [] if isinstance(c, dict) and ip_text(c.get("ip")) not in outside]
    tls_raw = [h for h in tk.get("tls_handshakes") or [] if isinstance(h, dict)
               and ip_text(split_address(str(h.get("address") or ""))[0]) not in outside]
    requests = [r for r in requests if ip_text(split_address(str(r.get("address") or ""))[0]) not in outside]
    http_raw = [r for r in requests if _connected(r, tcp_raw, tls_raw)]
    rebuilt = not _times_order(tcp_raw, tls_raw, http_raw)
    place = _Timeline(rebuilt, hosts, resolved)
    tcp = [_tcp(c, place) for c in tcp_raw]
    tls = [_tls(h, place, tcp_raw) for h in tls_raw]
    http = [_http(r, k, place, bodies, tcp_raw) for k, r in enumerate(http_raw)]
    final_failure, operation = _stop(tk, requests, http, tcp, tls, queries)
    network = ProbeNetwork(probe_asn=str(raw.get("probe_asn") or "AS0"), probe_cc=str(raw.get("probe_cc") or "ZZ"),
                           probe_network_name=str(raw.get("probe_network_name") or ""),
                           resolver_address=str(raw.get("resolver_ip") or tk.get("client_resolver") or ""))
    m = Measurement(
        measurement_id=str(uuid.uuid5(_NAMESPACE, key)), input=url,
        test_start_time=ooni_time(raw.get("measurement_start_time")),
        measurement_runtime_s=float(raw.get("test_runtime") or 0.0),
        software_name=str(raw.get("software_name") or "ooniprobe"),
        software_version=str(raw.get("software_version") or ""), network=network,
        queries=queries, tcp_connect=tcp, tls_handshakes=tls, requests=http,
        control=map_control(tk, host=host_of(url)), control_failure=failure_name(tk.get("control_failure")),
        final_failure=final_failure, failed_operation=operation)
    return Mapped(measurement=m, bodies=bodies, rebuilt_timeline=rebuilt)


def _outside_only(queries: list[DNSQueryObservation]) -> set[str]:
    """Addresses only the outside resolvers (DoH, OONI's public UDP resolvers) gave."""
    own = {ip_text(a) for q in queries if q.engine != "doh" for a in q.addresses()}
    return {ip_text(a) for q in queries if q.engine == "doh" for a in q.addresses()} - own - {""}


def _depth(entry: JSON) -> int | None:
    for tag in entry.get("tags") or []:
        if isinstance(tag, str) and (match := _DEPTH.match(tag)):
            return int(match.group(1))
    return None


def _time(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _times_order(tcp: list[JSON], tls: list[JSON], http: list[JSON]) -> bool:
    """OONI's own times can stand: every step has a time, not all zero, and requests end in order."""
    steps = [*tcp, *tls, *http]
    times = [_time(s.get("t")) for s in steps]
    if not steps or any(t is None for t in times) or not any(times):
        return False
    ends = [_time(r.get("t")) or 0.0 for r in http]
    return ends == sorted(ends)


class _Timeline:
    """Where each step sits: OONI's times, or a rebuilt timeline of one slot per redirect hop."""

    def __init__(self, rebuilt: bool, hosts: list[str], resolved: dict[str, str]) -> None:
        self.rebuilt, self.hosts, self.resolved = rebuilt, hosts, resolved
        self.counter = 0

    def step(self, entry: JSON, ip: str) -> tuple[float, float]:
        if not self.rebuilt:
            t = _time(entry.get("t")) or 0.0
            t0 = _time(entry.get("t0"))
            return (t0 if t0 is not None else t, t)
        depth = _depth(entry)
        if depth is None:
            host = self.resolved.get(ip)
            depth = self.hosts.index(host) if host in self.hosts else 0
        self.counter += 1
        start = depth * _HOP_S + self.counter * 1e-4
        return start, start + 1e-4

    def request(self, entry: JSON, index: int) -> tuple[float, float]:
        if not self.rebuilt:
            t = _time(entry.get("t")) or 0.0
            t0 = _time(entry.get("t0"))
            return (t0 if t0 is not None else t, t)
        depth = _depth(entry)
        hop = index if depth is None else depth
        return hop * _HOP_S + _HOP_S / 2, hop * _HOP_S + _HOP_S - 1.0


def _query(q: object, own_resolver: str) -> DNSQueryObservation | None:
    if not isinstance(q, dict):
        return None
    qtype = str(q.get("query_type") or "A").upper()
    if qtype not in ("A", "AAAA", "ANY"):
        return None  # CNAME/NS/HTTPS lookups: no addresses for our rules to judge
    engine = _ENGINES.get(str(q.get("engine") or ""), "getaddrinfo")
    resolver = str(q.get("resolver_address") or "")
    if engine == "udp" and split_address(resolver)[0].strip("[]") != own_resolver:
        engine = "doh"  # a public resolver of OONI's choosing: a second opinion, not the network's own
    answers = []
    for a in q.get("answers") or []:
        if isinstance(a, dict) and a.get("answer_type"):
            answers.append(DNSAnswer(answer_type=str(a["answer_type"]), ipv4=a.get("ipv4"), ipv6=a.get("ipv6"),
                                     hostname=a.get("hostname"), ttl=a.get("ttl")))
    rcode = q.get("rcode")
    t = _time(q.get("t")) or 0.0
    return DNSQueryObservation(
        engine=engine, resolver_address=resolver,
        hostname=str(q.get("hostname") or ""), query_type=qtype,
        t0=_time(q.get("t0")) or t, t=t, failure=failure_name(q.get("failure")),
        rcode=_RCODE_NAMES.get(rcode, str(rcode)) if isinstance(rcode, int) else None, answers=answers)


def _tcp(c: JSON, place: _Timeline) -> TCPConnectObservation:
    status = c.get("status") or {}
    failure = failure_name(status.get("failure"))
    if failure is None and status.get("success") is False:
        failure = "unknown_failure: connect failed"
    ip = str(c["ip"])
    t0, t = place.step(c, ip)
    return TCPConnectObservation(ip=ip, port=int(c["port"]), t0=t0, t=t, failure=failure,
                                 transaction_id=int(c.get("transaction_id") or 0))


def _endpoint(entry: JSON, default_port: int, tcp: list[JSON]) -> tuple[str, int]:
    """Where a handshake or request went: its `address`, or (0.4 writes none) the connect it used: the
    last one that succeeded to that port before it ended, else the first that succeeded."""
    ip, port = split_address(str(entry.get("address") or ""))
    if ip:
        return ip, port or default_port
    done = [c for c in tcp if (c.get("status") or {}).get("success") and c.get("port") == default_port]
    end = _time(entry.get("t"))
    before = [c for c in done if end is not None and (_time(c.get("t")) or 0.0) <= end]
    chosen = before[-1] if before else done[0] if done else None
    return (ip_text(chosen.get("ip")), default_port) if chosen else ("", default_port)


def _tls(h: JSON, place: _Timeline, tcp: list[JSON]) -> TLSHandshakeObservation:
    ip, port = _endpoint(h, 443, tcp)
    t0, t = place.step(h, ip)
    certs = []
    for cert in h.get("peer_certificates") or []:
        if isinstance(cert, dict) and cert.get("format") == "base64":
            certs.append(hashlib.sha256(base64.b64decode(str(cert.get("data") or ""))).hexdigest())
    return TLSHandshakeObservation(
        ip=ip, port=port or 443, server_name=str(h.get("server_name") or ""), t0=t0, t=t,
        failure=failure_name(h.get("failure")), tls_version=h.get("tls_version") or None,
        cipher_suite=h.get("cipher_suite") or None, negotiated_protocol=h.get("negotiated_protocol") or None,
        peer_certificates=certs, transaction_id=int(h.get("transaction_id") or 0))


def _headers(part: JSON) -> list[HTTPHeader]:
    pairs = part.get("headers_list")
    if isinstance(pairs, list) and pairs:
        return [HTTPHeader(name=text(p[0]), value=text(p[1])) for p in pairs if isinstance(p, list) and len(p) == 2]
    return [HTTPHeader(name=str(k), value=text(v)) for k, v in (part.get("headers") or {}).items()]


def _url_port(url: str) -> int | None:
    try:
        return urlsplit(url).port
    except ValueError:
        return None


def _connected(r: JSON, tcp: list[JSON], tls: list[JSON]) -> bool:
    """A request OONI lists although it never got a connection (0.4 records the HTTP step's own connect
    or TLS failure as the request's too): our model has a request only over a completed connection."""
    response = r.get("response")
    if isinstance(response, dict) and isinstance(response.get("code"), int) and response["code"] > 0:
        return True
    failure = failure_name(r.get("failure"))
    if failure is None:
        return False
    if failure.startswith("dns_") or failure in ("connection_refused", "network_unreachable", "host_unreachable"):
        return False
    url = str((r.get("request") or {}).get("url") or "")
    host = host_of(url)
    if url.lower().startswith("https:") and any(
            failure_name(h.get("failure")) == failure and host_of("//" + str(h.get("server_name") or "")) == host
            for h in tls):
        return False  # its handshake failed that way: the request never had a connection
    return not tcp or any((c.get("status") or {}).get("success") for c in tcp)


def _http(r: JSON, index: int, place: _Timeline, bodies: dict[str, bytes], tcp: list[JSON]) -> HTTPObservation:
    req = r.get("request") or {}
    url = str(req.get("url") or "")
    scheme = "https" if url.lower().startswith("https:") else "http"
    url_port = _url_port(url)
    ip, port = _endpoint(r, url_port or (443 if scheme == "https" else 80), tcp) if index == 0 else \
        split_address(str(r.get("address") or ""))
    t0, t = place.request(r, index)
    resp = r.get("response")
    response = None
    if isinstance(resp, dict) and isinstance(resp.get("code"), int) and resp["code"] > 0:
        body = b"" if resp.get("body") in (None, "None") else binary(resp.get("body"))
        sha = hashlib.sha256(body).hexdigest() if body else None
        if sha:
            bodies[sha] = body
        response = HTTPResponse(code=int(resp["code"]), headers=_headers(resp), body_length=len(body),
                                body_sha256=sha, body_is_truncated=bool(resp.get("body_is_truncated")),
                                title=extract_title(body) if body else None)
    return HTTPObservation(
        ip=ip, port=port or (443 if scheme == "https" else 80), scheme=scheme,
        request=HTTPRequest(method=str(req.get("method") or "GET"), url=url, headers=_headers(req)),
        response=response, t0=t0, t=t, failure=failure_name(r.get("failure")),
        transaction_id=int(r.get("transaction_id") or 0))


def _stop(tk: JSON, requests: list[JSON], http: list[HTTPObservation], tcp: list[TCPConnectObservation],
          tls: list[TLSHandshakeObservation], queries: list[DNSQueryObservation]) -> tuple[str | None, str | None]:
    """The failure that stopped the measurement and its operation, as our engine would record it."""
    if http and http[-1].failure:
        return http[-1].failure, "http_round_trip"
    last = http[-1].response if http else None
    if last is not None and len(http) == len(requests) and not (300 <= last.code < 400 and last.header("location")):
        # The last hop got its page. LTE still writes the system resolver's failure as
        # http_experiment_failure when other resolvers' addresses were used: the lookup is evidence,
        # not where the measurement stopped.
        return None, None
    failure = failure_name(tk.get("http_experiment_failure")) or \
        (failure_name(requests[-1].get("failure")) if requests else None)
    if failure is None:
        dns = failure_name(tk.get("dns_experiment_failure"))
        return (dns, "resolve") if dns else (None, None)
    if any(h.failure == failure for h in tls):
        return failure, "tls_handshake"
    if any(c.failure == failure for c in tcp):
        return failure, "connect"
    if failure.startswith("dns_") or any(q.failure == failure for q in queries):
        return failure, "resolve"
    return failure, "http_round_trip"


