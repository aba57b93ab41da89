"""OONI's test helper answer (`test_keys.control`) as our `ControlResponse`.

The helper's DNS answer (`addrs`, or `ips` in the oldest versions), its TCP connect and TLS handshake
per endpoint (a completed handshake with the host's name means a certificate valid for it, since the
helper verifies), and its HTTP fetch (status, headers, title, body length; OONI sends no body and no
similarity sketch, so our rules compare without one). Pure; part of `mapping.py`'s work.
"""

from __future__ import annotations

from typing import Any

from probe.models import ControlEndpoint, ControlHTTP, ControlResponse, HTTPHeader
from probe.models.control import ControlDNS
from probe.ooni.fields import failure_name, host_of, is_ip, split_address, text

JSON = dict[str, Any]


def map_control(tk: JSON, *, host: str) -> ControlResponse | None:
    """Our ControlResponse from OONI's `test_keys.control` (the test helper's answer); None without one."""
    c = tk.get("control")
    if not isinstance(c, dict) or not c:
        return None
    dns = c.get("dns") or {}
    addrs = dns.get("addrs") if dns.get("addrs") is not None else dns.get("ips")
    endpoints: dict[str, ControlEndpoint] = {}
    for address, status in (c.get("tcp_connect") or {}).items():
        ip, port = split_address(str(address))
        if isinstance(status, dict) and is_ip(ip):
            endpoints[address] = ControlEndpoint(ip=ip, port=port, tcp_failure=_ctrl_failure(status))
    for address, status in (c.get("tls_handshake") or {}).items():
        ip, port = split_address(str(address))
        if not isinstance(status, dict) or not is_ip(ip):
            continue
        failure = _ctrl_failure(status)
        same_host = host_of("//" + str(status.get("server_name") or host)) == host
        base = endpoints.get(address) or ControlEndpoint(ip=ip, port=port)
        endpoints[address] = base.model_copy(update={
            "tls_attempted": True, "tls_failure": failure,
            "cert_valid_for_host": (failure is None and same_host) if failure is None or failure.startswith("ssl_")
            else None})
    http = c.get("http_request")
    ctrl_http = None
    if isinstance(http, dict) and http:
        code = http.get("status_code")
        length = http.get("body_length")
        ctrl_http = ControlHTTP(
            failure=failure_name(http.get("failure")),
            status_code=code if isinstance(code, int) and code > 0 else None,
            headers=[HTTPHeader(name=str(k), value=text(v)) for k, v in (http.get("headers") or {}).items()],
            title=http.get("title") if isinstance(http.get("title"), str) else None,
            body_length=length if isinstance(length, int) and length >= 0 else None)
    return ControlResponse(helper="ooni-test-helper",
                           dns=ControlDNS(failure=failure_name(dns.get("failure")),
                                          addresses=[str(a) for a in addrs or [] if is_ip(str(a))]),
                           endpoints=list(endpoints.values()), http=ctrl_http)


def _ctrl_failure(status: JSON) -> str | None:
    failure = failure_name(status.get("failure"))
    if failure is None and status.get("status") is False:
        return "unknown_failure: failed at the control"
    return failure
