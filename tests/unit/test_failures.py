"""One test per mapping from a Python exception to an OONI failure string."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import dns.exception
import dns.resolver
import h11
import pytest

from probe import failures


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as caught:
        return caught


def _cert_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(1, message)
    err.verify_code = code
    err.verify_message = message
    return err


@pytest.mark.parametrize(("exc", "expected"), [
    (TimeoutError(), "generic_timeout_error"),
    (TimeoutError(), "generic_timeout_error"),
    (ConnectionResetError(errno.ECONNRESET, "reset"), "connection_reset"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "connection_refused"),
    (OSError(errno.EHOSTUNREACH, "no route"), "host_unreachable"),
    (OSError(errno.ENETUNREACH, "unreachable"), "network_unreachable"),
    (OSError(errno.ETIMEDOUT, "timed out"), "generic_timeout_error"),
    (OSError(errno.ECONNABORTED, "aborted"), "connection_aborted"),
    (OSError(errno.EPIPE, "pipe"), "broken_pipe"),
    (asyncio.IncompleteReadError(b"", 10), "eof_error"),
    (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), "eof_error"),
    (ssl.SSLZeroReturnError(6, "closed"), "eof_error"),
    (ssl.SSLError(1, "[SSL: TLSV1_ALERT_HANDSHAKE_FAILURE] alert"), "ssl_failed_handshake"),
    (_cert_error(62, "Hostname mismatch"), "ssl_invalid_hostname"),
    (_cert_error(20, "unable to get local issuer certificate"), "ssl_unknown_authority"),
    (_cert_error(18, "self-signed certificate"), "ssl_unknown_authority"),
    (_cert_error(10, "certificate has expired"), "ssl_invalid_certificate"),
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "dns_nxdomain_error"),
    (socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), "dns_temporary_failure"),
    (socket.gaierror(socket.EAI_FAIL, "Non-recoverable"), "dns_non_recoverable_failure"),
    (dns.resolver.NXDOMAIN(), "dns_nxdomain_error"),
    (dns.resolver.NoAnswer(), "dns_no_answer"),
    (dns.exception.Timeout(), "generic_timeout_error"),
    (dns.exception.FormError("bad"), "dns_server_misbehaving"),
    (h11.RemoteProtocolError("peer closed connection without sending complete message body"), "eof_error"),
])
def test_exception_maps_to_ooni_failure(exc: BaseException, expected: str) -> None:
    assert failures.classify_exception(exc) == expected


def test_ssl_is_checked_before_errno_because_ssl_errors_are_oserrors() -> None:
    exc = _chained(RuntimeError("wrapped"), ssl.SSLEOFError(8, "EOF"))
    assert failures.classify_exception(exc) == "eof_error"


def test_root_cause_is_found_through_cause_chain() -> None:
    exc = _chained(RuntimeError("httpx.ConnectError"), ConnectionResetError(errno.ECONNRESET, "reset"))
    assert failures.classify_exception(exc) == "connection_reset"


def test_root_cause_is_found_through_context_chain() -> None:
    try:
        try:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "refused")
        except ConnectionRefusedError:
            raise ValueError("during handling")  # noqa: B904 - sets __context__, not __cause__
    except ValueError as exc:
        assert failures.classify_exception(exc) == "connection_refused"


def test_unknown_failure_scrubs_addresses() -> None:
    result = failures.classify_exception(RuntimeError("weird thing from 10.77.1.2 and fd77:1::2 at 12:30:01"))
    assert result.startswith("unknown_failure: ")
    assert "10.77.1.2" not in result and "fd77:1::2" not in result
    assert "12:30:01" in result


@pytest.mark.parametrize(("rcode", "has_answers", "expected"), [
    ("NXDOMAIN", False, "dns_nxdomain_error"),
    ("SERVFAIL", False, "dns_servfail_error"),
    ("REFUSED", False, "dns_refused_error"),
    ("NOERROR", False, "dns_no_answer"),
    ("NOERROR", True, None),
    ("FORMERR", False, "dns_server_misbehaving"),
])
def test_rcode_failure(rcode: str, has_answers: bool, expected: str | None) -> None:
    assert failures.rcode_failure(rcode, has_answers=has_answers) == expected


def test_cycle_in_exception_chain_terminates() -> None:
    a, b = RuntimeError("a"), RuntimeError("b")
    a.__context__, b.__context__ = b, a
    assert failures.classify_exception(a).startswith("unknown_failure")


def test_timeout_during_handshake_is_a_timeout_not_a_handshake_failure() -> None:
    exc = _chained(TimeoutError(), ssl.SSLWantReadError(2, "The operation did not complete (read)"))
    assert failures.classify_exception(exc) == "generic_timeout_error"


def test_fin_during_tls_handshake_is_eof_not_reset() -> None:
    """asyncio's sslproto reports EOF during the handshake as a bare ConnectionResetError()."""
    assert failures.classify_exception(ConnectionResetError()) == "eof_error"
    assert failures.classify_exception(ConnectionResetError(errno.ECONNRESET, "reset")) == "connection_reset"
    assert failures.classify_exception(ConnectionResetError("Connection lost")) == "connection_reset"
