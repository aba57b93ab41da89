"""Certificate chains as PEM files a person can open with `openssl x509`, and reading them back.

Each chain is written leaf first, as the server sent it, with a plain-text line above each block
naming its subject, issuer and SHA-256 (text outside BEGIN/END lines is ignored by PEM readers).
Reading back uses only base64 and SHA-256, so a verifier trusts no X.509 parser with damaged input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import textwrap

from cryptography import x509

_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n(.*?)-----END CERTIFICATE-----", re.DOTALL)


def chain_id(der_hashes: list[str]) -> str:
    """A stable name for a chain: the same certificates in the same order give the same file."""
    return hashlib.sha256(":".join(der_hashes).encode("ascii")).hexdigest()[:32]


def describe(der: bytes) -> str:
    """One line naming the certificate, or a note that it does not parse (it is kept anyway)."""
    try:
        cert = x509.load_der_x509_certificate(der)
        return f"subject={cert.subject.rfc4514_string()} issuer={cert.issuer.rfc4514_string()}"
    except ValueError:
        return "not a parseable X.509 certificate (kept byte for byte as received)"


def chain_pem(ders: list[bytes]) -> bytes:
    parts = []
    for index, der in enumerate(ders):
        body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
        parts.append(f"# [{index}] {describe(der)}\n# sha256={hashlib.sha256(der).hexdigest()}\n"
                     f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
    return "".join(parts).encode("utf-8")


def pem_der_hashes(data: bytes) -> list[str]:
    """SHA-256 of each DER certificate in a PEM file, in order; ValueError if a block is damaged."""
    hashes: list[str] = []
    for match in _BLOCK.finditer(data):
        try:
            der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
        except binascii.Error as exc:
            raise ValueError(f"certificate block {len(hashes)} is not valid base64") from exc
        hashes.append(hashlib.sha256(der).hexdigest())
    return hashes
