"""Which targets are the volunteer's own machine or network: refused unless a flag allows them.

Used where targets enter a run (lists, URL arguments) and where a redirect would take a measurement
somewhere new. Pure: no DNS, no sockets; a name is judged by its spelling only (a censor's resolver
answering with a private address is evidence, and the ISP's blockpage server may live there).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

# Names that only ever mean the volunteer's own machine or network (RFC 6761, RFC 6762 appendix G,
# RFC 8375): a shared list naming them asks the probe to fetch and store pages from the volunteer's LAN.
_LOCAL_SUFFIXES = ("localhost", "localdomain", "local", "internal", "intranet", "private", "corp", "home",
                   "lan", "home.arpa", "ip6-localhost", "ip6-loopback")


def private_target(url: str, *, public_ranges: Sequence[str] = ()) -> str | None:
    """Why `url` (in normal form) points into the volunteer's own machine or network, or None.

    IP literals that are not globally routable (private, loopback, link-local, unique-local,
    unspecified, multicast, reserved; IPv4 inside IPv6 too) and local-only names are refused.
    `public_ranges` (CIDRs, e.g. `not_bogon`: a lab's networks) count as public. No DNS here: a name
    is judged by its spelling only.
    """
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None  # not a URL: normalise_url says what is wrong with it
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if any(host == s or host.endswith("." + s) for s in _LOCAL_SUFFIXES):
            return f"{host} is a name for the local machine or network"
        return None
    if any(ip in ipaddress.ip_network(cidr, strict=False) for cidr in public_ranges):
        return None
    checked = _embedded_ipv4(ip) or ip
    if any(checked in ipaddress.ip_network(cidr, strict=False) for cidr in public_ranges):
        return None
    kind = _address_kind(checked)
    return f"{ip.compressed} is {kind}" if kind else None


def _embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 (64:ff9b::/96) IPv6 address."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _address_kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_link_local:
        return "a link-local address (the local link, e.g. cloud metadata)"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _ULA:
        return "a unique-local address (a private network)"
    if ip.is_private:
        return "a private address (a local network)"
    if not ip.is_global:
        return "a reserved address (not routed on the internet)"
    return None


_ULA = ipaddress.IPv6Network("fc00::/7")
