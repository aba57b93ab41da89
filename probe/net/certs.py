"""Certificate chain validation, separate from the handshake, so a bad chain is recorded, not fatal.

The handshake runs without verification so that we always capture the chain the server sent; the
chain is then checked here against a named CA bundle (certifi's Mozilla roots by default — never the
OS store, where a national interception root may be installed) and the reason for a failure is kept.
A trusted result is remembered per (chain, hostname, trust store) while every certificate of the
verified path is within its validity (`_Verified`): a helper answering many probes about the same
sites verified the same chains again and again. Failures are always checked afresh.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from probe import failures
from probe.models import CertificateValidation
from probe.web.html import clean_text


@functools.lru_cache(maxsize=8)
def _trust_store(bundle: str) -> tuple[Store, frozenset[bytes]]:
    """The verifier's store and the DER-encoded subjects of its roots (to name unknown issuers)."""
    with warnings.catch_warnings():
        # Mozilla's store holds a few old roots with a negative serial number; cryptography warns
        # about them on every load. They are the trust store as published: read them quietly.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        roots = x509.load_pem_x509_certificates(Path(bundle).read_bytes())
    return Store(roots), frozenset(r.subject.public_bytes() for r in roots)


@dataclass(frozen=True)
class _Verified:
    """A trusted result and the times between which the verified path (root included) was valid:
    within them the same chain for the same name against the same store verifies the same way."""

    validation: CertificateValidation
    not_before: datetime
    not_after: datetime


VERIFIED_CACHE_SIZE = 2048  # chains remembered (each entry is a digest and one small result)
_verified: OrderedDict[tuple[bytes, str, str, str], _Verified] = OrderedDict()


def _remembered(key: tuple[bytes, str, str, str], now: datetime) -> CertificateValidation | None:
    entry = _verified.get(key)
    if entry is None or not entry.not_before <= now <= entry.not_after:
        return None
    _verified.move_to_end(key)
    return entry.validation


def _remember(key: tuple[bytes, str, str, str], validation: CertificateValidation,
              path: list[x509.Certificate]) -> None:
    _verified[key] = _Verified(validation, max(c.not_valid_before_utc for c in path),
                               min(c.not_valid_after_utc for c in path))
    _verified.move_to_end(key)
    while len(_verified) > VERIFIED_CACHE_SIZE:
        _verified.popitem(last=False)


def _chain_digest(ders: list[bytes]) -> bytes:
    digest = hashlib.sha256()
    for der in ders:  # each length first, so no two different chains join into the same bytes
        digest.update(len(der).to_bytes(8, "big"))
        digest.update(der)
    return digest.digest()


def check_bundle(ca_bundle: Path | None) -> int:
    """Load a CA bundle once, before measuring; returns how many roots it holds. ValueError/OSError
    when it is not a PEM bundle (so a typo is one message at start, not a failure per handshake)."""
    roots = _trust_store(bundle_path(ca_bundle))[1]
    if not roots:
        raise ValueError("no certificates in it")
    return len(roots)


def bundle_path(ca_bundle: Path | None) -> str:
    return str(ca_bundle) if ca_bundle else certifi.where()


def _name(name: x509.Name) -> str:
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if cns:
        return clean_text(str(cns[0].value))
    return clean_text(name.rfc4514_string())


def _failure_for(reason: str, certs: list[x509.Certificate], roots: frozenset[bytes], now: datetime) -> str:
    """Most telling first: nobody we trust vouches for it, then expiry, then the name."""
    leaf, last = certs[0], certs[-1]
    if last.issuer.public_bytes() not in roots and last.subject.public_bytes() not in roots:
        return failures.SSL_UNKNOWN_AUTHORITY
    text = reason.lower()
    if leaf.not_valid_after_utc < now or leaf.not_valid_before_utc > now or "expired" in text:
        return failures.SSL_INVALID_CERTIFICATE
    if "no matching" in text and ("subjectaltname" in text or "name" in text) or "hostname" in text:
        return failures.SSL_INVALID_HOSTNAME
    if "issuer" in text or "candidate" in text or "self-signed" in text or "not found" in text:
        return failures.SSL_UNKNOWN_AUTHORITY
    return failures.SSL_INVALID_CERTIFICATE


def validate_chain(ders: list[bytes], *, hostname: str, ca_bundle: Path | None,
                   now: datetime | None = None) -> CertificateValidation:
    """Check a server's chain (leaf first) for `hostname`; record why it fails, with issuer names."""
    bundle = bundle_path(ca_bundle)
    label = "certifi" if ca_bundle is None else str(ca_bundle)
    now = now or datetime.now(UTC)
    if not ders:
        return CertificateValidation(ca_bundle=label, failure=failures.SSL_INVALID_CERTIFICATE,
                                     reason="the server sent no certificate")
    key = (_chain_digest(ders), hostname, bundle, label)
    known = _remembered(key, now)
    if known is not None:
        return known
    try:
        certs = [x509.load_der_x509_certificate(d) for d in ders]
    except ValueError as exc:
        return CertificateValidation(ca_bundle=label, failure=failures.SSL_INVALID_CERTIFICATE,
                                     reason=clean_text(f"unparseable certificate: {exc}"))
    leaf = certs[0]
    try:  # cryptography parses names lazily: a hostile certificate fails here, not at load time
        info = dict(ca_bundle=label, leaf_subject=_name(leaf.subject), leaf_issuer=_name(leaf.issuer),
                    root_issuer=_name(certs[-1].issuer), not_before=leaf.not_valid_before_utc.isoformat(),
                    not_after=leaf.not_valid_after_utc.isoformat())
    except ValueError as exc:
        return CertificateValidation(ca_bundle=label, failure=failures.SSL_INVALID_CERTIFICATE,
                                     reason=clean_text(f"unparseable certificate: {exc}"))
    subject: DNSName | IPAddress
    try:
        subject = IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        subject = DNSName(hostname)
    store, roots = _trust_store(bundle)
    try:
        verifier = PolicyBuilder().store(store).time(now.replace(tzinfo=None)).build_server_verifier(subject)
        path = verifier.verify(leaf, certs[1:])
    except (VerificationError, ValueError) as exc:
        reason = clean_text(str(exc))
        return CertificateValidation(**info, failure=_failure_for(reason, certs, roots, now),
                                     reason=reason)
    validation = CertificateValidation(**info)
    _remember(key, validation, path)
    return validation
