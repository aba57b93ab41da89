"""OONI `web_connectivity` JSON for each measurement, in the shapes OONI's own tools load.

Follows OONI's base data format (df-000, data_format_version 0.2.0) and ts-017: every top-level key
and every ts-017 summary key (`ooni_keys.py` derives those), `test_keys.queries` with integer rcode,
the DNS wire reply as `raw_response` and resolver addresses with their port, `requests` newest first,
`control` in the test helper's shapes, a `measurement_uid` and `report_id`. What OONI has no field for
stays out of OONI's lists and under our own `x_probe_*` keys, so OONI's analysis skips it: the
decoy-SNI handshakes (another server name to the same address), late DNS replies, certificate
validation, our verdict's label and confidence. A URL whose host is an IP address gets the lookup
OONI records for one (the address itself, no network). `probe_ip` is "127.0.0.1", as OONI scrubs it.
This is a derived view: the signed evidence is our own record in `measurements.jsonl`.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from probe.evidence.ooni import keys as ooni_keys
from probe.models import ControlResponse, HTTPHeader, HTTPObservation, Measurement, Verdict
from probe.models.observations import DNSQueryObservation, TLSHandshakeObservation

ArtifactLookup = Callable[[str], bytes | None]
JSON = dict[str, Any]


def ooni_time(iso: str) -> str:
    """OONI's "YYYY-MM-DD HH:MM:SS" (UTC) from our ISO-8601 time."""
    return iso.replace("T", " ")[:19]


def to_ooni(measurement: Measurement, verdict: Verdict | None, artifact_of: ArtifactLookup) -> JSON:
    m = measurement
    start = ooni_time(m.test_start_time)
    uid, report_id = ooni_keys.uid_and_report(m)
    return {
        "annotations": {"engine_name": m.software_name, "engine_version": m.software_version,
                        "x_probe_measurement_id": m.measurement_id},
        "data_format_version": "0.2.0",
        "extensions": {"dnst": 0, "httpt": 0, "tcpconnect": 0, "tlshandshake": 0},
        "input": m.input,
        "measurement_start_time": start,
        "measurement_uid": uid,
        "options": [],
        "probe_asn": m.network.probe_asn,
        "probe_cc": m.network.probe_cc,
        "probe_ip": "127.0.0.1",
        "probe_network_name": m.network.probe_network_name,
        "report_id": report_id,
        "resolver_ip": _bare_ip(m.network.resolver_address),
        "software_name": m.software_name,
        "software_version": m.software_version,
        "test_helpers": {"backend": {"address": m.control.helper, "type": "https"}} if m.control else {},
        "test_name": "web_connectivity",
        "test_runtime": m.measurement_runtime_s,
        "test_start_time": start,
        "test_version": "0.5.0",
        "test_keys": _test_keys(m, verdict, artifact_of),
        "x_probe_measurement_id": m.measurement_id,
    }


def _bare_ip(address: str) -> str:
    """The resolver's address without a port, as `resolver_ip` holds it."""
    try:
        return str(ipaddress.ip_address(address.strip("[]")))  # a bare IPv4 or IPv6 address
    except ValueError:
        pass
    try:
        host = urlsplit(f"//{address}").hostname if address else None
    except ValueError:
        host = None
    return host or address


def _host(m: Measurement) -> str:
    try:
        return (urlsplit(m.input).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _test_keys(m: Measurement, verdict: Verdict | None, artifact_of: ArtifactLookup) -> JSON:
    host = _host(m)
    host_cmp = host.encode("idna").decode("ascii") if host and not host.isascii() else host
    queries = [_query(q, artifact_of) for q in m.queries] or _literal_queries(host)
    real = [h for h in m.tls_handshakes if not h.is_decoy]
    decoys = [h for h in m.tls_handshakes if h.is_decoy]
    return {
        "agent": "redirect",
        "client_resolver": _bare_ip(m.network.resolver_address) or None,
        "retries": None,
        "socksproxy": None,
        "queries": queries,
        "tcp_connect": [{"ip": c.ip, "port": c.port, "t0": c.t0, "t": c.t, "transaction_id": c.transaction_id,
                         "status": {"success": c.failure is None, "failure": c.failure, "blocked": None}}
                        for c in m.tcp_connect],
        "tls_handshakes": [_tls(h, artifact_of) for h in real],
        # OONI lists HTTP round trips newest first (the final redirect hop at index 0).
        "requests": [_request(r, artifact_of) for r in reversed(m.requests)],
        "control": _control(m.control, host) if m.control else {},
        "control_failure": ooni_keys.control_failure(m),
        "dns_experiment_failure": ooni_keys.dns_experiment_failure(m, host_cmp),
        "dns_consistency": ooni_keys.dns_consistency(m, verdict),
        "http_experiment_failure": ooni_keys.http_experiment_failure(m),
        **ooni_keys.comparison(m),
        "blocking": verdict.blocking if verdict else None,
        "accessible": verdict.accessible if verdict else None,
        "x_probe_verdict": verdict.model_dump(mode="json") if verdict else None,
        "x_probe_label": verdict.label if verdict else None,
        "x_probe_confidence": verdict.confidence if verdict else None,
        "x_probe_control_note": m.control_failure,
        "x_probe_decoy_tls_handshakes": [_tls(h, artifact_of) for h in decoys],
        "x_probe_final_failure": m.final_failure,
        "x_probe_failed_operation": m.failed_operation,
        "x_probe_registry": _registry(m, artifact_of),
    }


def _registry(m: Measurement, artifact_of: ArtifactLookup) -> list[JSON]:
    """What the registry said about a name that resolved nowhere (dns.takedown), raw answer included."""
    asked = [("probe", o) for o in m.registry]
    if m.control is not None and m.control.registry is not None:
        asked.append(("control", m.control.registry.observation))
    out = []
    for who, obs in asked:
        raw = artifact_of(obs.raw_sha256) if obs.raw_sha256 else None
        out.append({**obs.model_dump(mode="json"), "asked_by": who,
                    "raw": {"format": "base64", "data": base64.b64encode(raw).decode("ascii")} if raw else None})
    return out


def _literal_queries(host: str) -> list[JSON]:
    """The lookup OONI records for an IP-address host: the address itself, answered without a network."""
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return []
    answer = {"answer_type": "A", "ipv4": str(addr)} if addr.version == 4 else \
        {"answer_type": "AAAA", "ipv6": str(addr)}
    return [{"engine": "getaddrinfo", "resolver_address": "", "hostname": str(addr), "query_type": "ANY",
             "t0": 0.0, "t": 0.0, "failure": None, "rcode": None, "answers": [answer], "raw_response": None,
             "transaction_id": 0, "x_probe_ip_literal": True}]


def _query(q: DNSQueryObservation, artifact_of: ArtifactLookup) -> JSON:
    raw = artifact_of(q.raw_reply_sha256) if q.raw_reply_sha256 else None
    return {
        "engine": q.engine, "resolver_address": ooni_keys.resolver_with_port(q.engine, q.resolver_address),
        "hostname": q.hostname, "query_type": q.query_type, "t0": q.t0, "t": q.t, "failure": q.failure,
        "rcode": ooni_keys.rcode_number(q.rcode),
        "answers": [a.model_dump(mode="json", exclude_none=True) for a in q.answers],
        "raw_response": base64.b64encode(raw).decode("ascii") if raw is not None else None,
        "x_raw_reply_sha256": q.raw_reply_sha256,
        "x_rcode_name": q.rcode,
        "x_late_replies": [r.model_dump(mode="json") for r in q.late_replies],
    }


def _tls(h: TLSHandshakeObservation, artifact_of: ArtifactLookup) -> JSON:
    certs = []
    for sha in h.peer_certificates:
        der = artifact_of(sha)
        certs.append({"format": "base64", "data": base64.b64encode(der).decode("ascii")} if der
                     else {"format": "sha256", "data": sha})  # pruned from the store: the hash only
    return {
        "network": "tcp", "transaction_id": h.transaction_id,
        "address": f"[{h.ip}]:{h.port}" if ":" in h.ip else f"{h.ip}:{h.port}",
        "server_name": h.server_name, "t0": h.t0, "t": h.t, "failure": h.failure,
        "tls_version": h.tls_version, "cipher_suite": h.cipher_suite,
        "negotiated_protocol": h.negotiated_protocol, "no_tls_verify": False,
        "peer_certificates": certs, "x_is_decoy": h.is_decoy,
        "x_validation": h.validation.model_dump(mode="json") if h.validation else None,
    }


def _headers(headers: list[HTTPHeader]) -> JSON:
    return {"headers_list": [[h.name, h.value] for h in headers],
            "headers": {h.name: h.value for h in headers}}


def _body(data: bytes | None) -> str | JSON:
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"format": "base64", "data": base64.b64encode(data).decode("ascii")}


def _request(r: HTTPObservation, artifact_of: ArtifactLookup) -> JSON:
    response: JSON = {}
    if r.response is not None:
        body = artifact_of(r.response.body_sha256) if r.response.body_sha256 else None
        response = {"code": r.response.code, "body": _body(body),
                    "body_is_truncated": r.response.body_is_truncated, **_headers(r.response.headers)}
    return {
        "t0": r.t0, "t": r.t, "failure": r.failure, "transaction_id": r.transaction_id, "network": "tcp",
        "address": f"[{r.ip}]:{r.port}" if ":" in r.ip else f"{r.ip}:{r.port}",
        "request": {"method": r.request.method, "url": r.request.url, "body": "",
                    "body_is_truncated": False, "x_transport": "tcp", **_headers(r.request.headers)},
        "response": response,
    }


def _control(c: ControlResponse, host: str) -> JSON:
    tcp: JSON = {}
    tls: JSON = {}
    for e in c.endpoints:
        key = f"[{e.ip}]:{e.port}" if ":" in e.ip else f"{e.ip}:{e.port}"
        tcp[key] = {"status": e.tcp_failure is None, "failure": e.tcp_failure}
        if e.tls_attempted:
            tls[key] = {"status": e.tls_failure is None, "failure": e.tls_failure,
                        "server_name": host, "x_cert_valid_for_host": e.cert_valid_for_host}
    http: JSON = {}
    if c.http is not None:
        http = {"failure": c.http.failure, "status_code": c.http.status_code or -1,
                "title": c.http.title or "",
                "body_length": c.http.body_length if c.http.body_length is not None else -1,
                "headers": {h.name: h.value for h in c.http.headers}}
    return {"dns": {"failure": c.dns.failure, "addrs": list(c.dns.addresses)}, "tcp_connect": tcp,
            "tls_handshake": tls, "http_request": http}
