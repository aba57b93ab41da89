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

# Digits or dots right next to a match mean a different number ("11.2.3.45" is not "1.2.3.4");
# hex digits or colons next to an IPv6 match likewise.
_V4_EDGE = rb"[0-9.]"
_V6_EDGE = rb"[0-9A-Fa-f:]"


def _patterns(address: str) -> list[re.Pattern[bytes]]:
    ip = ipaddress.ip_address(address.strip().strip("[]"))
    if isinstance(ip, ipaddress.IPv4Address):
        forms = {str(ip), "::ffff:" + str(ip)}
        edge = _V4_EDGE
    else:
        forms = {ip.compressed, ip.exploded}
        if ip.ipv4_mapped is not None:
            forms.add(str(ip.ipv4_mapped))
        edge = _V6_EDGE
    return [re.compile(rb"(?<!" + edge + rb")" + re.escape(form.encode("ascii")) + rb"(?!" + edge + rb")",
                       re.IGNORECASE) for form in sorted(forms)]


def scan_for_addresses(data: bytes, addresses: Iterable[str]) -> list[str]:
    """The addresses (as given) that occur in `data`; an empty list means none was found.

    Raises ValueError for something that is not an IP address, so a typo never passes as "clean".
    """
    found = []
    for address in addresses:
        if any(p.search(data) for p in _patterns(address)):
            found.append(address)
    return found
