"""The probe's network as a control helper names it: the `network` of a health answer, checked.

A helper whose operator installed an IP-to-ASN database answers, with the address it sees the probe
at, `"network": {"probe_asn": "AS9198", "probe_cc": "KZ", "probe_network_name": "JSC Kazakhtelecom"}`
(`network_of` builds that object on the helper's side). The probe stores those three values in every
measurement, signed, so a broken or hostile helper must not be able to put just anything there:
`parse_network` refuses wrong types, an ASN outside the 32-bit range or one of its reserved markers,
a country that is not two letters, a name over `MAX_NAME_CHARS` or with control characters, and
anything that carries an address (the probe's own in any of its usual spellings, or any address
literal at all: a network's name never needs one) — the stored network must not become a channel
for the address the probe scrubs everywhere else. A refusal is a fixed sentence that never echoes the
answer. Pure functions: nothing here opens a socket or reads a file.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Collection
from typing import Any

from probe.identity.model import NetworkIdentity

MAX_NAME_CHARS = 120  # the longest names in the iptoasn file are ~100 characters
MAX_ASN = 4_294_967_294  # 4294967295 is reserved (RFC 7300), as are 0 and the AS_TRANS / 65535 markers below
_RESERVED_ASNS = frozenset({0, 23456, 65535})
_ADDRESS_LIKE = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*")


def network_of(found: NetworkIdentity) -> dict[str, str] | None:
    """What the helper puts under `network` for an address its database knows (None: it does not)."""
    if not found.known:
        return None
    return {"probe_asn": found.asn, "probe_cc": found.cc, "probe_network_name": found.name}


def parse_network(value: Any, *, own: Collection[str] = ()) -> tuple[NetworkIdentity | None, str | None]:
    """(identity, None) for a sound answer; (None, why) for a refused one; (None, None) when the helper
    named no network (no database, or an address it does not know). `own`: the probe's addresses."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        return None, "network is not an object"
    asn, problem = _asn(value.get("probe_asn"))
    if problem is not None:
        return None, problem
    cc = value.get("probe_cc")
    if not isinstance(cc, str) or len(cc) != 2 or not (cc.isascii() and cc.isalpha()):
        return None, "probe_cc is not a two-letter country code"
    name = value.get("probe_network_name", "")
    problem = _name_problem(name, own)
    if problem is not None:
        return None, problem
    if any(_as_integer(address) == asn for address in own):
        return None, "probe_asn is the probe's address as a number"
    assert isinstance(name, str)
    return NetworkIdentity(asn=f"AS{asn}", cc=cc.upper(), name=name.strip(), known=True), None


def _asn(value: Any) -> tuple[int, str | None]:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return 0, "probe_asn is neither a number nor 'AS' and digits"
    if isinstance(value, str):
        digits = value.upper().removeprefix("AS")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 10:
            return 0, "probe_asn is neither a number nor 'AS' and digits"
        value = int(digits)
    if not 0 < value <= MAX_ASN or value in _RESERVED_ASNS:
        return 0, "probe_asn is outside the range of real AS numbers"
    return value, None


def _name_problem(name: Any, own: Collection[str]) -> str | None:
    if not isinstance(name, str):
        return "probe_network_name is not text"
    if len(name) > MAX_NAME_CHARS:
        return f"probe_network_name is over {MAX_NAME_CHARS} characters"
    if any(unicodedata.category(c).startswith("C") for c in name):
        return "probe_network_name has control or unassigned characters"
    for token in _ADDRESS_LIKE.findall(name):
        if _is_address(token.strip(".:")):
            return "probe_network_name contains an IP address"
    spelled = {form for address in own for form in _spellings(address)}
    folded = name.casefold()
    if any(form in folded for form in spelled):
        return "probe_network_name contains the probe's address"
    return None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _as_integer(address: str) -> int | None:
    try:
        return int(ipaddress.ip_address(address))
    except ValueError:
        return None


def _spellings(address: str) -> set[str]:
    """The address as text, as an integer and in hex: forms a name could smuggle it in."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return set()
    width = 8 if ip.version == 4 else 32
    return {str(ip).casefold(), ip.exploded.casefold(), str(int(ip)), f"{int(ip):0{width}x}"}
