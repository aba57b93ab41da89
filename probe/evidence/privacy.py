"""A last line of defence before anything leaves the machine: find given IP addresses in bytes.

The measure layer scrubs the probe's own address before anything is stored; this module only checks
that it did. It does not scrub: stored records are hashed and signed, so a record that still holds
the address cannot be fixed here, only withheld (the exporter refuses and names the file).
Textual forms are searched (IPv4 dotted quads; IPv6 compressed, exploded and IPv4-mapped, any case),
which is how an address leaks through headers, bodies, echo pages and error strings.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

# A digit (or a dot and a digit) right next to a match means a different number: "11.2.3.45" is
# not "1.2.3.4", but "from 1.2.3.4." at the end of a sentence is. Likewise for IPv6 and hex digits.
_V4_BEFORE, _V4_AFTER = rb"(?<![0-9])(?<![0-9]\.)", rb"(?![0-9])(?!\.[0-9])"
_V6_BEFORE, _V6_AFTER = rb"(?<![0-9A-Fa-f:])", rb"(?![0-9A-Fa-f])(?!:[0-9A-Fa-f:])"


def _patterns(address: str) -> list[re.Pattern[bytes]]:
    ip = ipaddress.ip_address(address.strip().strip("[]"))
    if isinstance(ip, ipaddress.IPv4Address):
        forms = {str(ip)}  # also found inside "::ffff:1.2.3.4"
        before, after = _V4_BEFORE, _V4_AFTER
    else:
        forms = {ip.compressed, ip.exploded}
        before, after = _V6_BEFORE, _V6_AFTER
        if ip.ipv4_mapped is not None:
            return _patterns(str(ip.ipv4_mapped)) + [_compile(before, f, after) for f in sorted(forms)]
    return [_compile(before, form, after) for form in sorted(forms)]


def _compile(before: bytes, form: str, after: bytes) -> re.Pattern[bytes]:
    return re.compile(before + re.escape(form.encode("ascii")) + after, re.IGNORECASE)


def scan_for_addresses(data: bytes, addresses: Iterable[str], *, binary: bool = False) -> list[str]:
    """The addresses (as given) that occur in `data`; an empty list means none was found.

    `binary=True` also looks for the packed address (4 or 16 bytes), for wire-format artifacts such
    as DNS replies, where an address travels as raw bytes (e.g. an echoed EDNS client subnet).
    Raises ValueError for something that is not an IP address, so a typo never passes as "clean".
    """
    found = []
    for address in addresses:
        patterns = _patterns(address)
        packed = ipaddress.ip_address(address.strip().strip("[]")).packed
        if any(p.search(data) for p in patterns) or (binary and packed in data):
            found.append(address)
    return found
