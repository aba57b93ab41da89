"""What a network-identity lookup answers: the ASN, country and network name of an address."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkIdentity:
    asn: str  # "AS9198"; "AS0" when unknown
    cc: str  # ISO 3166-1 alpha-2, "KZ"; "ZZ" when unknown
    name: str  # "JSC Kazakhtelecom"; "" when unknown
    known: bool


UNKNOWN = NetworkIdentity(asn="AS0", cc="ZZ", name="", known=False)


def identity(asn: int, cc: str | None, name: str | None) -> NetworkIdentity:
    """A found entry; AS0 (iptoasn's "Not routed") is no network at all."""
    if asn <= 0:
        return UNKNOWN
    code = (cc or "").strip().upper()
    if len(code) != 2 or not code.isalpha():
        code = "ZZ"  # iptoasn writes "None" for unknown countries
    return NetworkIdentity(asn=f"AS{asn}", cc=code, name=(name or "").strip(), known=True)
