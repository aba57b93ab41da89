"""Address policy of the control helper: which target addresses it may connect to.

The helper connects wherever a request (or the DNS, or a redirect) points it, so without a policy it
would be an open proxy into the networks it sits in. It therefore refuses every address that is not
globally routable — private, loopback, link-local, multicast, reserved, unspecified, shared (CGN),
documentation and benchmark ranges — and looks through IPv6 forms that embed an IPv4 address
(IPv4-mapped, NAT64, 6to4), since those reach the embedded address. An operator (or the lab) can
allow named CIDRs explicitly; an allowed CIDR wins over every other rule.

This module decides; it opens no sockets and knows nothing about requests.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from probe import failures
from probe.errors import InputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ADDRESS_NOT_ALLOWED = failures.ADDRESS_NOT_ALLOWED
# Parsing an address and checking it against every special range costs more than the rest of an
# endpoint's bookkeeping, and one answer meets the same few addresses several times (its DNS, the
# probe's list, the guard, each redirect hop): both are pure, so each keeps this many recent results.
CACHE_SIZE = 4096

# IPv6 prefixes whose low bits carry an IPv4 address that traffic is translated or tunnelled to.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


def parse_cidrs(texts: Iterable[str]) -> list[IPNetwork]:
    """'10.77.0.0/16', 'fd77::/16', '127.0.0.1' → networks; InputError naming the bad one."""
    out: list[IPNetwork] = []
    for text in texts:
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise InputError(f"not a CIDR: {text!r} ({exc})", hint="write it like 10.77.0.0/16") from exc
    return out


@functools.lru_cache(maxsize=CACHE_SIZE)
def normalise_ip(text: str) -> IPAddress | None:
    """An address from text (brackets and IPv4-mapped IPv6 unwrapped), or None when it is not one.

    Only a bare address counts: "192.0.2.1:22" is not one, and neither is an IPv6 address with a
    zone ("fe80::1%eth0"), which names an interface of whoever wrote it, not a place to connect to.
    """
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id is not None:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def _is_public(ip: IPAddress) -> bool:
    if (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global):
        return False
    # Python counts some reserved v6 space (e.g. deprecated site-local) as global: be explicit.
    return not (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)


class AddressGuard:
    """Says whether the helper may connect to an address: public, or inside an allowed CIDR."""

    def __init__(self, *, allow: Iterable[IPNetwork] = ()) -> None:
        self._allow = tuple(allow)
        self._permits = functools.lru_cache(maxsize=CACHE_SIZE)(self._decide)

    def permits(self, text: str) -> bool:
        return self._permits(text)

    def _decide(self, text: str) -> bool:
        ip = normalise_ip(text)
        if ip is None:
            return False
        if self._allowed(ip):
            return True
        if isinstance(ip, ipaddress.IPv6Address):
            inner = _embedded_v4(ip)
            if inner is not None:
                return self._allowed(inner) or _is_public(inner)
        return _is_public(ip)

    def refusal(self, text: str) -> str | None:
        """None when the address may be used, else the failure string to report for it."""
        return None if self.permits(text) else ADDRESS_NOT_ALLOWED

    def _allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self._allow)
