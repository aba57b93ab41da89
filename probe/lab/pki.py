"""The lab's certificates: a lab root CA, site certificates, and rogue CAs for TLS interception.

All keys are EC P-256 (fast to make: thousands of site certificates take about a second). The lab
root CA stands in for the Mozilla roots: the probe is given its PEM as its trust store. Rogue roots
(tls_mitm) are never in that store. Site certificates come in four variants: valid, expired,
wrong_host (valid chain, another name) and self_signed. This module writes no files itself except
through `write_pem`; it never talks to the network.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = ec.EllipticCurvePrivateKey
WRONG_HOST_NAME = "wrong-host.lab-hosting.net"
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Issuer:
    """A CA that can sign: its certificate and key."""

    cert: x509.Certificate
    key: Key

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def new_key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str, org: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def make_ca(cn: str, *, org: str = "", parent: Issuer | None = None, key: Key | None = None) -> Issuer:
    """A root (no parent) or an intermediate CA valid for ten years."""
    key = key or new_key()
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn, org))
        .issuer_name(parent.cert.subject if parent else _name(cn, org))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 3650 * _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if parent is None else 0),
                       critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if parent is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), critical=False)
    signer = parent.key if parent else key
    return Issuer(cert=builder.sign(signer, hashes.SHA256()), key=key)


def make_leaf(names: list[str], *, issuer: Issuer | None, key: Key, expired: bool = False) -> x509.Certificate:
    """A server certificate for `names` (DNS names or IPs); issuer None makes it self-signed."""
    now = _now()
    start, end = (now - 400 * _DAY, now - 30 * _DAY) if expired else (now - _DAY, now + 365 * _DAY)
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    subject = _name(names[0])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    return builder.sign(issuer.key if issuer else key, hashes.SHA256())


def key_pem(key: Key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def chain_pem(leaf: x509.Certificate, *chain: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, *chain))


def site_pem(host: str, variant: str, *, ca: Issuer, key: Key) -> bytes:
    """Certificate chain + private key in one PEM (nginx reads both from the same file)."""
    if variant == "self_signed":
        own = new_key()
        return chain_pem(make_leaf([host], issuer=None, key=own)) + key_pem(own)
    names = [WRONG_HOST_NAME] if variant == "wrong_host" else [host]
    leaf = make_leaf(names, issuer=ca, key=key, expired=variant == "expired")
    return chain_pem(leaf) + key_pem(key)


@dataclass(frozen=True)
class RogueChain:
    """A tls_mitm interception CA: rogue root (named after the scenario's issuer) + intermediate."""

    root: Issuer
    intermediate: Issuer

    @classmethod
    def make(cls, issuer_cn: str) -> RogueChain:
        root = make_ca(issuer_cn, org=issuer_cn)
        return cls(root=root, intermediate=make_ca(f"{issuer_cn} Intermediate CA", parent=root))

    def forge_pem(self, host: str, key: Key) -> bytes:
        """A forged leaf for `host` + the intermediate (what interception boxes send) + the key."""
        leaf = make_leaf([host], issuer=self.intermediate, key=key)
        return chain_pem(leaf, self.intermediate.cert) + key_pem(key)

    def to_pem(self) -> bytes:
        """Everything the middlebox needs to forge: intermediate cert + key (root is not needed)."""
        return chain_pem(self.intermediate.cert) + key_pem(self.intermediate.key)


def load_issuer(pem: bytes) -> Issuer:
    cert = x509.load_pem_x509_certificate(pem)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("lab CA keys are EC P-256")
    return Issuer(cert=cert, key=key)


def write_pem(path: Path, data: bytes, *, private: bool = True) -> Path:
    path.write_bytes(data)
    path.chmod(0o600 if private else 0o644)
    return path
