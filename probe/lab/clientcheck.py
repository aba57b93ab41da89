"""Plain-socket checks run as the censored client: `python -m probe.lab.clientcheck OP ARGS…`.

Used by the lab tests (and by hand when debugging a scenario) to show each censor action at the
socket level without the probe: one JSON object on stdout per call. It is deliberately independent
of `probe.net` — the lab must be checkable before and apart from the probe's own engine.

    dns NAME [SERVER] [TYPE]     every reply within 1 s: rcode, addresses, arrival time
    gai NAME                     getaddrinfo (the system resolver: /etc/netns/<client>/resolv.conf)
    tcp IP PORT                  connect: ok or errno name / timeout
    tls IP PORT SNI [CA]         handshake: ok / error, issuer, whether the chain validates with CA
    http IP PORT HOST [tls CA]   GET /: status, headers, body length, title

Failures are errno names (ECONNRESET: an RST), "timeout", "cert:…" / "ssl:…", or "eof": the peer
closed cleanly (a FIN) before answering, which is what a censor's spoofed FIN looks like.
"""

from __future__ import annotations

import errno
import json
import re
import socket
import ssl
import sys
import time
from typing import Any

import dns.message
import dns.rcode

TIMEOUT_S = 3.0


def _err(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return "eof"  # before the generic SSLError: a FIN mid-handshake, not a TLS alert
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"cert:{exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"ssl:{exc.reason}"
    if isinstance(exc, OSError) and exc.errno:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    return type(exc).__name__


def check_dns(name: str, server: str = "10.77.1.1", qtype: str = "A", window: float = 1.0) -> dict[str, Any]:
    sock = socket.socket(socket.AF_INET6 if ":" in server else socket.AF_INET, socket.SOCK_DGRAM)
    query = dns.message.make_query(name, qtype)
    t0 = time.monotonic()
    sock.sendto(query.to_wire(), (server, 53))
    replies: list[dict[str, Any]] = []
    deadline = t0 + TIMEOUT_S
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            data, src = sock.recvfrom(4096)
        except TimeoutError:
            break
        msg = dns.message.from_wire(data)
        addrs = [r.to_text() for rr in msg.answer for r in rr]
        replies.append({"t": round(time.monotonic() - t0, 4), "rcode": dns.rcode.to_text(msg.rcode()),
                        "answers": addrs, "source": src[0]})
        deadline = min(deadline, replies[0]["t"] + t0 + window)
    return {"replies": replies, "failure": None if replies else "timeout"}


def check_gai(name: str) -> dict[str, Any]:
    try:
        infos = socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return {"addresses": [], "failure": f"gai:{exc.errno}"}
    return {"addresses": sorted({str(i[4][0]) for i in infos}), "failure": None}


def _connect(ip: str, port: int) -> socket.socket:
    return socket.create_connection((ip, port), timeout=TIMEOUT_S)


def check_tcp(ip: str, port: str) -> dict[str, Any]:
    t0 = time.monotonic()
    try:
        _connect(ip, int(port)).close()
        return {"ok": True, "failure": None, "t": round(time.monotonic() - t0, 4)}
    except OSError as exc:
        return {"ok": False, "failure": _err(exc), "t": round(time.monotonic() - t0, 4)}


def check_tls(ip: str, port: str, sni: str, ca: str = "") -> dict[str, Any]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # we validate afterwards, so a bad chain is data, not an error
    t0 = time.monotonic()
    try:
        with _connect(ip, int(port)) as raw, ctx.wrap_socket(raw, server_hostname=sni) as tls:
            chain = tls.get_unverified_chain() if hasattr(tls, "get_unverified_chain") else []
            der = tls.getpeercert(binary_form=True) or b""
    except OSError as exc:
        return {"ok": False, "failure": _err(exc), "t": round(time.monotonic() - t0, 4)}
    return {"ok": True, "failure": None, "t": round(time.monotonic() - t0, 4),
            "chain_length": len(chain), **_validate(ip, int(port), sni, ca, der)}


def _validate(ip: str, port: int, sni: str, ca: str, der: bytes) -> dict[str, Any]:
    from cryptography import x509

    issuer = x509.load_der_x509_certificate(der).issuer.rfc4514_string() if der else ""
    if not ca:
        return {"issuer": issuer}
    ctx = ssl.create_default_context(cafile=ca)
    try:
        with _connect(ip, port) as raw, ctx.wrap_socket(raw, server_hostname=sni):
            return {"issuer": issuer, "valid": True}
    except ssl.SSLCertVerificationError as exc:
        return {"issuer": issuer, "valid": False, "invalid_reason": exc.verify_message}
    except OSError as exc:
        return {"issuer": issuer, "valid": False, "invalid_reason": _err(exc)}


def check_http(ip: str, port: str, host: str, tls: str = "", ca: str = "") -> dict[str, Any]:
    t0 = time.monotonic()
    try:
        sock: socket.socket = _connect(ip, int(port))
        if tls:
            ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
            sock = ctx.wrap_socket(sock, server_hostname=host)
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        sock.close()
    except OSError as exc:
        return {"ok": False, "failure": _err(exc), "t": round(time.monotonic() - t0, 4)}
    if not data:  # recv() gave b"" at once: a FIN before any answer (an RST raises ECONNRESET)
        return {"ok": False, "failure": "eof", "t": round(time.monotonic() - t0, 4)}
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    title = re.search(rb"<title>(.*?)</title>", body, re.S)
    return {"ok": True, "failure": None, "t": round(time.monotonic() - t0, 4),
            "status": int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0,
            "headers": headers, "body_length": len(body),
            "title": title.group(1).decode("utf-8", "replace") if title else None}


OPS = {"dns": check_dns, "gai": check_gai, "tcp": check_tcp, "tls": check_tls, "http": check_http}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in OPS:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(OPS[argv[0]](*argv[1:])))  # type: ignore[operator]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
