"""Best-effort OONI `web_connectivity` JSON for each measurement, for tools that read OONI data.

Field names and shapes follow OONI's data format 0.2.0 (`test_keys.queries`, `tcp_connect`,
`tls_handshakes`, `requests` newest first, `control`, `blocking`, `accessible`). What OONI has no
field for is kept under `x_probe_*` keys. `probe_ip` is "127.0.0.1", exactly as OONI scrubs it.
This is a derived view: the signed evidence is our own record in `measurements.jsonl`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

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
    return {
        "annotations": {"engine_name": m.software_name, "engine_version": m.software_version},
        "data_format_version": "0.2.0",
        "input": m.input,
        "measurement_start_time": start,
        "probe_asn": m.network.probe_asn,
        "probe_cc": m.network.probe_cc,
        "probe_ip": "127.0.0.1",
        "probe_network_name": m.network.probe_network_name,
        "report_id": "",
        "resolver_ip": m.network.resolver_address,
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


def _test_keys(m: Measurement, verdict: Verdict | None, artifact_of: ArtifactLookup) -> JSON:
    return {
        "agent": "redirect",
        "client_resolver": m.network.resolver_address,
        "queries": [_query(q) for q in m.queries],
        "tcp_connect": [{"ip": c.ip, "port": c.port, "t0": c.t0, "t": c.t,
                         "status": {"success": c.failure is None, "failure": c.failure, "blocked": None}}
                        for c in m.tcp_connect],
        "tls_handshakes": [_tls(h, artifact_of) for h in m.tls_handshakes],
        # OONI lists HTTP round trips newest first (the final redirect hop at index 0).
        "requests": [_request(r, artifact_of) for r in reversed(m.requests)],
        "control": _control(m.control) if m.control else {},
        "control_failure": m.control_failure,
        "blocking": verdict.blocking if verdict else None,
        "accessible": verdict.accessible if verdict else None,
        "x_probe_verdict": verdict.model_dump(mode="json") if verdict else None,
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


def _query(q: DNSQueryObservation) -> JSON:
    return {
        "engine": q.engine, "resolver_address": q.resolver_address, "hostname": q.hostname,
        "query_type": q.query_type, "t0": q.t0, "t": q.t, "failure": q.failure, "rcode": q.rcode,
        "answers": [a.model_dump(mode="json", exclude_none=True) for a in q.answers],
        "raw_response": None,  # the wire bytes are in artifacts/dns/<raw_reply_sha256>.bin
        "x_raw_reply_sha256": q.raw_reply_sha256,
        "x_late_replies": [r.model_dump(mode="json") for r in q.late_replies],
    }


def _tls(h: TLSHandshakeObservation, artifact_of: ArtifactLookup) -> JSON:
    certs = []
    for sha in h.peer_certificates:
        der = artifact_of(sha)
        certs.append({"format": "base64", "data": base64.b64encode(der).decode("ascii")} if der
                     else {"format": "sha256", "data": sha})  # pruned from the store: the hash only
    return {
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
        "t0": r.t0, "t": r.t, "failure": r.failure,
        "request": {"method": r.request.method, "url": r.request.url, "body": "",
                    "body_is_truncated": False, "x_transport": "tcp", **_headers(r.request.headers)},
        "response": response,
    }


def _control(c: ControlResponse) -> JSON:
    tcp: JSON = {}
    tls: JSON = {}
    for e in c.endpoints:
        key = f"[{e.ip}]:{e.port}" if ":" in e.ip else f"{e.ip}:{e.port}"
        tcp[key] = {"status": e.tcp_failure is None, "failure": e.tcp_failure}
        if e.tls_attempted:
            tls[key] = {"status": e.tls_failure is None, "failure": e.tls_failure,
                        "server_name": "", "x_cert_valid_for_host": e.cert_valid_for_host}
    http: JSON = {}
    if c.http is not None:
        http = {"failure": c.http.failure, "status_code": c.http.status_code or -1,
                "title": c.http.title or "",
                "body_length": c.http.body_length if c.http.body_length is not None else -1,
                "headers": {h.name: h.value for h in c.http.headers}}
    return {"dns": {"failure": c.dns.failure, "addrs": list(c.dns.addresses)}, "tcp_connect": tcp,
            "tls_handshake": tls, "http_request": http}
