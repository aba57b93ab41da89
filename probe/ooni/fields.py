"""Small readers of OONI's field values, shared by the mapping modules: failure names (legacy ones in
today's df-007 names), addresses ("ip:port", "[v6]:port"), hosts, and OONI's maybe-binary strings.
Pure; each takes any JSON value, and only `binary` raises (binascii.Error, for base64 that is not),
which `mapping.map_measurement` reports as a measurement it cannot read.
"""

from __future__ import annotations

import base64
import ipaddress
from urllib.parse import urlsplit

# Failure names older probes wrote, in today's df-007 names (facts from OONI's data format history).
LEGACY_FAILURES = {
    "dns_host_or_service_not_provided_or_not_known": "dns_nxdomain_error",
    "dns_name_error": "dns_nxdomain_error",
    "connection_refused_error": "connection_refused",
    "connection_reset_error": "connection_reset",
    "tcp_timed_out_error": "generic_timeout_error",
    "response_never_received": "generic_timeout_error",
    "ssl_error": "ssl_failed_handshake",
}


def failure_name(value: object) -> str | None:
    if value is None or value is False or value == "":
        return None
    text = str(value)
    return LEGACY_FAILURES.get(text, text)


def ip_text(value: object) -> str:
    try:
        return str(ipaddress.ip_address(str(value or "").strip("[]")))
    except ValueError:
        return ""


def host_of(url: str) -> str:
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def split_address(address: str) -> tuple[str, int]:
    if address.startswith("["):
        ip, _, port = address[1:].partition("]:")
    else:
        ip, _, port = address.rpartition(":")
    return ip, int(port) if port.isdigit() else 0


def text(value: object) -> str:
    if isinstance(value, dict):
        return binary(value).decode("utf-8", "replace")
    return "" if value is None else str(value)


def binary(body: object) -> bytes:
    if isinstance(body, dict):
        if body.get("format") == "base64":
            return base64.b64decode(str(body.get("data") or ""))
        return str(body.get("data") or "").encode("utf-8")
    return str(body).encode("utf-8") if body is not None else b""


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
