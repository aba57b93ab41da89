"""A last line of defence before anything leaves the machine: find given IP addresses in bytes.

The measure layer scrubs the probe's own address before anything is stored; this module only checks
that it did. It does not scrub: stored records are hashed and signed, so a record that still holds
the address cannot be fixed here, only withheld (the exporter refuses and names the file).
Every textual spelling is searched (`probe.addresses`), which is how an address leaks through
headers, bodies, echo pages and error strings; the addresses are those given (`--scrub-ip`), any the
records show, and those the store's own-address memory remembers (kept as keyed hashes).
"""

from __future__ import annotations

from collections.abc import Iterable

from probe.addresses import IPAddress, find_bytes, parse
from probe.store.own_addresses import OwnAddressMemory

REMEMBERED = "(an address this probe had, remembered from an earlier run)"

def scan_for_addresses(data: bytes, addresses: Iterable[str], *, binary: bool = False,
                       memory: OwnAddressMemory | None = None) -> list[str]:
    """The addresses (as given) that occur in `data`, plus "(remembered own address)" when `memory`
    knows one that does; an empty list means none was found.

    Every spelling counts (`probe.addresses`). `binary=True` also looks for the packed address (4 or
    16 bytes) of the given ones, for wire-format artifacts such as DNS replies, where an address
    travels as raw bytes (e.g. an echoed EDNS client subnet). Raises ValueError for something that is
    not an IP address, so a typo never passes as "clean".
    """
    wanted: dict[IPAddress, str] = {}
    for address in addresses:
        ip = parse(address.strip().strip("[]"))
        if ip is None:
            raise ValueError(f"not an IP address: {address!r}")
        wanted[ip] = address
    found: dict[str, None] = {}
    for ip in find_bytes(data, lambda ip: ip in wanted or (memory is not None and memory.knows(ip))):
        found.setdefault(wanted.get(ip, REMEMBERED), None)
    if binary:
        for ip, address in wanted.items():
            if ip.packed in data:
                found.setdefault(address, None)
    return list(found)
