"""The lab's address plan: every address the lab may ever use, and how sites get theirs.

Nothing here touches the network. The plan (documented in docs/scenarios.md):

    client ns  c0  10.77.1.2/24   fd77:1::2/64      the probe's "public IP" (AS9198, KZ)
    isp ns     i0  10.77.1.1/24   fd77:1::1/64      router + ISP resolver (dnsmasq :53)
               i1  10.77.2.1/24   fd77:2::1/64
               lo  10.77.3.1      fd77:3::1         ISP blockpage server (middlebox)
    inet ns    n0  10.77.2.2/24   fd77:2::2/64
               lo  local 198.18.0.0/16, fd77:18::/48   sites (AnyIP: every address answers)
               lo  local 198.19.0.0/16, fd77:19::/48   "other hosting": not the site (origin_other)
               198.18.0.53 / fd77:18::53  authoritative DNS (nsd, the root zone of the lab)
               198.18.0.8  / fd77:18::8   public recursive resolver (unbound)
               198.18.0.43                the registry: WHOIS :43, RDAP https :8443 (registry_server)
               n1  198.19.255.1   fd77:19:ffff::1   link to the ctl ns
    ctl ns     k0  198.18.0.80    fd77:18::80       control helper (its own vantage point, outside
                                                    the ISP; a /32 route in inet beats the AnyIP /16)

A second ISP, built only when asked (`Lab.up(second_isp=…)`): another AS, another censor.

    clientb ns c0  10.77.17.2/24  fd77:5::2/64      the second probe (AS21299, Kar-Tel "Beeline", KZ)
    ispb ns    i0  10.77.17.1/24  fd77:5::1/64      its router + resolver (dnsmasq :53)
               i1  10.77.18.1/24  fd77:6::1/64      link to inet (n2 there: 10.77.18.2, fd77:6::2)
               lo  10.77.19.1     fd77:7::1         its blockpage server (its own middlebox)
    inet ns    198.18.0.84:8480                     the lab's hub (`probe lab demo --hub`)

Lab bogons (never assigned): 127.0.0.1, 0.0.0.0 and 10.77.250.0/24 (routed to a blackhole in the
isp ns, so connections time out as they do to a private address that has no host).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network

LAB_RANGES: tuple[IPNet, ...] = (
    ipaddress.ip_network("10.77.0.0/16"),
    ipaddress.ip_network("198.18.0.0/15"),
    ipaddress.ip_network("fd77::/16"),
)
LAB_BOGON_NET = ipaddress.IPv4Network("10.77.250.0/24")

CLIENT_V4, CLIENT_V6 = "10.77.1.2", "fd77:1::2"
ISP_IN_V4, ISP_IN_V6 = "10.77.1.1", "fd77:1::1"
ISP_OUT_V4, ISP_OUT_V6 = "10.77.2.1", "fd77:2::1"
INET_V4, INET_V6 = "10.77.2.2", "fd77:2::2"
BLOCKPAGE_V4, BLOCKPAGE_V6 = "10.77.3.1", "fd77:3::1"
AUTH_DNS_V4, AUTH_DNS_V6 = "198.18.0.53", "fd77:18::53"
PUBLIC_RESOLVER_V4, PUBLIC_RESOLVER_V6 = "198.18.0.8", "fd77:18::8"
CONTROL_V4, CONTROL_V6 = "198.18.0.80", "fd77:18::80"
REGISTRY_V4 = "198.18.0.43"
REGISTRY_WHOIS_PORT, REGISTRY_RDAP_PORT = 43, 8443  # nginx's wildcard listener holds 443 in inet
OTHER_HOSTING_V4, OTHER_HOSTING_V6 = "198.19.0.10", "fd77:19::10"
# The second ISP: 10.77.16.0/20 and fd77:4::/30 are its side of the world.
B_CLIENT_V4, B_CLIENT_V6 = "10.77.17.2", "fd77:5::2"
B_ISP_IN_V4, B_ISP_IN_V6 = "10.77.17.1", "fd77:5::1"
B_ISP_OUT_V4, B_ISP_OUT_V6 = "10.77.18.1", "fd77:6::1"
B_INET_V4, B_INET_V6 = "10.77.18.2", "fd77:6::2"
B_BLOCKPAGE_V4, B_BLOCKPAGE_V6 = "10.77.19.1", "fd77:7::1"
B_NET_V4, B_NET_V6 = "10.77.16.0/20", "fd77:4::/30"
HUB_V4, HUB_PORT = "198.18.0.84", 8480  # in inet, not a port any censor rule or lab server uses
INET_CTL_V4, INET_CTL_V6 = "198.19.255.1", "fd77:19:ffff::1"

SITES_V4 = ipaddress.ip_network("198.18.0.0/16")
SITES_V6 = ipaddress.ip_network("fd77:18::/48")
OTHER_V4 = ipaddress.ip_network("198.19.0.0/16")
OTHER_V6 = ipaddress.ip_network("fd77:19::/48")
# The client's side of the world: what the origins treat as "the probe's network" (captcha/geoblock).
PROBE_SIDE: tuple[IPNet, ...] = (ipaddress.ip_network("10.77.0.0/16"), ipaddress.ip_network("fd77::/30"),
                                  ipaddress.ip_network(B_NET_V6))

# A (v4, v6) pair for each redirect target, so AAAA lies follow A lies.
V6_TWIN = {"127.0.0.1": "::1", "0.0.0.0": "::", BLOCKPAGE_V4: BLOCKPAGE_V6, B_BLOCKPAGE_V4: B_BLOCKPAGE_V6,
           OTHER_HOSTING_V4: OTHER_HOSTING_V6}

# The first sites' block starts after the infrastructure addresses in 198.18.0.0/24.
_SITE_BASE_V4 = int(ipaddress.IPv4Address("198.18.1.0"))
_SITE_BASE_V6 = int(ipaddress.IPv6Address("fd77:18::1:0"))
MAX_SITE_ADDRESSES = 60_000


def site_v4(index: int) -> str:
    """The index-th site address (skipping .0 and .255 so no address looks like a broadcast)."""
    if not 0 <= index < MAX_SITE_ADDRESSES:
        raise ValueError(f"site address index out of range: {index}")
    block, offset = divmod(index, 254)
    return str(ipaddress.IPv4Address(_SITE_BASE_V4 + block * 256 + offset + 1))


def site_v6(index: int) -> str:
    if not 0 <= index < MAX_SITE_ADDRESSES:
        raise ValueError(f"site address index out of range: {index}")
    return str(ipaddress.IPv6Address(_SITE_BASE_V6 + index + 1))


def is_lab_address(text: str) -> bool:
    """True when `text` is an IP the lab owns (the only addresses a scenario may name)."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    return any(ip in net for net in LAB_RANGES if net.version == ip.version)


def is_allowed_target(text: str) -> bool:
    """Addresses a censor may answer with: lab addresses, loopback, unspecified."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified or is_lab_address(text)


def not_bogon_ranges() -> list[str]:
    """The lab ranges that count as public for classification: all of them but the lab bogon net."""
    out: list[str] = []
    bogon = ipaddress.IPv4Network(LAB_BOGON_NET)
    for net in LAB_RANGES:
        if isinstance(net, ipaddress.IPv4Network) and bogon.subnet_of(net):
            parts: Iterable[IPNet] = net.address_exclude(bogon)
            out.extend(str(p) for p in sorted(parts))
        else:
            out.append(str(net))
    return out


def in_probe_side(text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in PROBE_SIDE if net.version == ip.version)


# (AS number, network name) of each ISP, as the lab's IP-to-ASN data names them.
ISP_A_AS, ISP_B_AS = ("9198", "JSC Kazakhtelecom"), ("21299", "Kar-Tel LLC")
_INTERNET_AS = ("64500", "NL", "LAB-INTERNET-AS")


def asn_tsv(*, second_isp: bool = False) -> str:
    """iptoasn-format rows: the client side is Kazakhtelecom, the lab's internet is another AS; with
    `second_isp`, the second ISP's ranges (10.77.16.0/20, fd77:4::/30) are Kar-Tel (Beeline)."""
    a, b = (*ISP_A_AS[:1], "KZ", ISP_A_AS[1]), (*ISP_B_AS[:1], "KZ", ISP_B_AS[1])
    if second_isp:
        v4 = [("10.77.0.0", "10.77.15.255", *a), ("10.77.16.0", "10.77.31.255", *b),
              ("10.77.32.0", "10.77.255.255", *a)]
        v6 = [("fd77::", "fd77:3:ffff:ffff:ffff:ffff:ffff:ffff", *a),
              ("fd77:4::", "fd77:7:ffff:ffff:ffff:ffff:ffff:ffff", *b),
              ("fd77:8::", "fd77:ffff:ffff:ffff:ffff:ffff:ffff:ffff", *_INTERNET_AS)]
    else:
        v4 = [("10.77.0.0", "10.77.255.255", *a)]
        v6 = [("fd77::", "fd77:3:ffff:ffff:ffff:ffff:ffff:ffff", *a),
              ("fd77:4::", "fd77:ffff:ffff:ffff:ffff:ffff:ffff:ffff", *_INTERNET_AS)]
    rows = [*v4, ("198.18.0.0", "198.19.255.255", *_INTERNET_AS), *v6]
    return "".join("\t".join(r) + "\n" for r in rows)
