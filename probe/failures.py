"""OONI failure strings (df-007) and operation names, and the mapping from Python exceptions to them.

Code above `probe.net` sees these strings, never exceptions. `classify_exception` walks the whole
`__cause__`/`__context__` chain and decides from the most specific evidence first: TLS errors
(which subclass OSError), then errno values, then resolver (getaddrinfo / dnspython) errors, then
library end-of-stream signals. Anything unrecognised becomes `unknown_failure: <text>` with every IP
address scrubbed out, so an error message can never leak the probe's address.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Iterator

from probe import addresses

# Operations (OONI archival names).
RESOLVE = "resolve"
CONNECT = "connect"
TLS_HANDSHAKE = "tls_handshake"
HTTP_ROUND_TRIP = "http_round_trip"
READ = "read"
WRITE = "write"

# Failure strings.
GENERIC_TIMEOUT = "generic_timeout_error"
CONNECTION_RESET = "connection_reset"
CONNECTION_REFUSED = "connection_refused"
CONNECTION_ABORTED = "connection_aborted"
EOF_ERROR = "eof_error"
HOST_UNREACHABLE = "host_unreachable"
NETWORK_UNREACHABLE = "network_unreachable"
NETWORK_DOWN = "network_down"
ADDRESS_FAMILY_NOT_SUPPORTED = "address_family_not_supported"
BROKEN_PIPE = "broken_pipe"
DNS_NXDOMAIN = "dns_nxdomain_error"
DNS_SERVFAIL = "dns_servfail_error"
DNS_REFUSED = "dns_refused_error"
DNS_NO_ANSWER = "dns_no_answer"
DNS_SERVER_MISBEHAVING = "dns_server_misbehaving"
DNS_TEMPORARY_FAILURE = "dns_temporary_failure"
DNS_NON_RECOVERABLE = "dns_non_recoverable_failure"
SSL_INVALID_HOSTNAME = "ssl_invalid_hostname"
SSL_UNKNOWN_AUTHORITY = "ssl_unknown_authority"
SSL_INVALID_CERTIFICATE = "ssl_invalid_certificate"
SSL_FAILED_HANDSHAKE = "ssl_failed_handshake"
HTTP_INVALID_REDIRECT_LOCATION_HOST = "http_invalid_redirect_location_host"
TOO_MANY_REDIRECTS = "unknown_failure: stopped after too many redirects"
# The control helper refused to connect (a private or reserved target): "not measured", not a failure.
ADDRESS_NOT_ALLOWED = "unknown_failure: address not allowed"
UNKNOWN_PREFIX = "unknown_failure: "

_ERRNO_FAILURES = {
    errno.ECONNRESET: CONNECTION_RESET,
    errno.ECONNREFUSED: CONNECTION_REFUSED,
    errno.ECONNABORTED: CONNECTION_ABORTED,
    errno.ETIMEDOUT: GENERIC_TIMEOUT,
    errno.EHOSTUNREACH: HOST_UNREACHABLE,
    errno.ENETUNREACH: NETWORK_UNREACHABLE,
    errno.ENETDOWN: NETWORK_DOWN,
    errno.EAFNOSUPPORT: ADDRESS_FAMILY_NOT_SUPPORTED,
    errno.EADDRNOTAVAIL: NETWORK_UNREACHABLE,
    errno.EPIPE: BROKEN_PIPE,
}

_GAI_FAILURES = {
    socket.EAI_NONAME: DNS_NXDOMAIN,
    socket.EAI_AGAIN: DNS_TEMPORARY_FAILURE,
    socket.EAI_FAIL: DNS_NON_RECOVERABLE,
}
if hasattr(socket, "EAI_NODATA"):
    _GAI_FAILURES[socket.EAI_NODATA] = DNS_NO_ANSWER

# OpenSSL verify codes (X509_V_ERR_*) that mean "nobody we trust vouches for this chain".
_UNKNOWN_AUTHORITY_CODES = {2, 18, 19, 20, 21, 27}
_INVALID_HOSTNAME_CODES = {62}

_RCODE_FAILURES = {
    "NXDOMAIN": DNS_NXDOMAIN,
    "SERVFAIL": DNS_SERVFAIL,
    "REFUSED": DNS_REFUSED,
}

SCRUBBED = "[scrubbed]"


def scrub_addresses(text: str) -> str:
    """Replace every IPv4/IPv6 literal in free text (error messages) with [scrubbed], in any spelling
    (`probe.addresses`: "::ffff:a.b.c.d", a trailing sentence dot, non-canonical IPv6)."""
    return addresses.replace(text, SCRUBBED)


def rcode_failure(rcode: str, *, has_answers: bool) -> str | None:
    """The failure a DNS reply's rcode means (None: NOERROR with answers)."""
    if rcode in _RCODE_FAILURES:
        return _RCODE_FAILURES[rcode]
    if rcode == "NOERROR":
        return None if has_answers else DNS_NO_ANSWER
    return DNS_SERVER_MISBEHAVING


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then everything reachable through __cause__/__context__, each once."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                pending.append(nxt)


def classify_exception(exc: BaseException) -> str:
    """Map any exception raised by a network operation to an OONI failure string."""
    chain = list(exception_chain(exc))
    for finder in (_ssl_failure, _timeout_failure, _errno_failure, _resolver_failure, _eof_failure):
        for item in chain:
            failure = finder(item)
            if failure is not None:
                return failure
    return UNKNOWN_PREFIX + scrub_addresses(f"{type(exc).__name__}: {exc}".strip())


def _ssl_failure(exc: BaseException) -> str | None:
    if isinstance(exc, (ssl.SSLWantReadError, ssl.SSLWantWriteError)):
        return None  # "not yet": left behind in the chain by a timeout, never a failure by itself
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = getattr(exc, "verify_code", None)
        if code in _INVALID_HOSTNAME_CODES or "hostname mismatch" in str(exc).lower():
            return SSL_INVALID_HOSTNAME
        if code in _UNKNOWN_AUTHORITY_CODES:
            return SSL_UNKNOWN_AUTHORITY
        return SSL_INVALID_CERTIFICATE
    if isinstance(exc, (ssl.SSLZeroReturnError, ssl.SSLEOFError)):
        return EOF_ERROR
    if isinstance(exc, ssl.SSLError):
        if "UNEXPECTED_EOF" in str(exc).upper():
            return EOF_ERROR
        return SSL_FAILED_HANDSHAKE
    return None


def _timeout_failure(exc: BaseException) -> str | None:
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, socket.timeout)):
        return GENERIC_TIMEOUT
    name = type(exc).__name__
    if name.endswith("Timeout") or name.endswith("TimeoutError"):  # httpx/httpcore/dnspython timeouts
        return GENERIC_TIMEOUT
    return None


def _errno_failure(exc: BaseException) -> str | None:
    if isinstance(exc, socket.gaierror):
        return None  # handled by _resolver_failure: its errno is an EAI_* code, not an errno
    if isinstance(exc, OSError) and exc.errno in _ERRNO_FAILURES:
        return _ERRNO_FAILURES[exc.errno]
    if type(exc) is ConnectionResetError and exc.errno is None and not exc.args:
        # asyncio's TLS layer signals a FIN during the handshake with a bare ConnectionResetError();
        # a real RST arrives as ConnectionResetError(ECONNRESET) and is matched above.
        return EOF_ERROR
    if isinstance(exc, ConnectionResetError):
        return CONNECTION_RESET
    if isinstance(exc, ConnectionRefusedError):
        return CONNECTION_REFUSED
    return None


def _resolver_failure(exc: BaseException) -> str | None:
    if isinstance(exc, socket.gaierror):
        return _GAI_FAILURES.get(exc.errno or 0, DNS_SERVER_MISBEHAVING)
    module = type(exc).__module__
    if not module.startswith("dns."):
        return None
    name = type(exc).__name__
    return {
        "NXDOMAIN": DNS_NXDOMAIN,
        "NoAnswer": DNS_NO_ANSWER,
        "NoNameservers": DNS_SERVFAIL,
        "Timeout": GENERIC_TIMEOUT,
        "LifetimeTimeout": GENERIC_TIMEOUT,
    }.get(name, DNS_SERVER_MISBEHAVING)


def _eof_failure(exc: BaseException) -> str | None:
    if isinstance(exc, (asyncio.IncompleteReadError, EOFError)):
        return EOF_ERROR
    text = str(exc).lower()
    if type(exc).__name__ in ("RemoteProtocolError", "ReadError", "ConnectionClosed") and (
        "disconnect" in text or "closed" in text or "eof" in text or "incomplete" in text
    ):
        return EOF_ERROR
    return None
