"""The helper's address policy: public addresses only, unless an allowed CIDR says otherwise."""

from __future__ import annotations

import pytest

from probe.control.server.endpoints import choose_addresses
from probe.control.server.guard import ADDRESS_NOT_ALLOWED, AddressGuard, normalise_ip, parse_cidrs
from probe.errors import InputError

REFUSED = [
    "127.0.0.1", "127.8.9.10", "::1", "0.0.0.0", "::", "10.1.2.3", "172.16.0.1", "192.168.1.1",
    "100.64.0.1",  # shared address space (CGN)
    "169.254.169.254",  # link-local: cloud metadata services live here
    "fe80::1", "fc00::1", "fd77:1::2", "224.0.0.1", "239.255.255.250", "ff02::1", "255.255.255.255",
    "240.0.0.1", "192.0.2.1", "198.51.100.1", "203.0.113.1", "198.18.0.80", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1",  # IPv4-mapped
    "64:ff9b::a00:1", "64:ff9b::7f00:1",  # NAT64 to private / loopback
    "2002:7f00:1::1", "2002:a00:1::1",  # 6to4 around private / loopback
    "fec0::1",  # deprecated site-local
    "not-an-ip", "", "1.2.3", "[::1]",
]
PUBLIC = ["1.1.1.1", "8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "64:ff9b::808:808",
          "::ffff:8.8.8.8", "2002:808:808::1"]


@pytest.mark.parametrize("ip", REFUSED)
def test_refuses_everything_not_globally_routable(ip: str) -> None:
    assert AddressGuard().refusal(ip) == ADDRESS_NOT_ALLOWED


@pytest.mark.parametrize("ip", PUBLIC)
def test_allows_public_addresses(ip: str) -> None:
    assert AddressGuard().refusal(ip) is None


def test_the_lab_allowlist_opens_only_its_ranges() -> None:
    guard = AddressGuard(allow=parse_cidrs(["10.77.0.0/16", "198.18.0.0/15", "fd77::/16"]))
    for ip in ("10.77.1.2", "10.77.250.9", "198.18.0.80", "198.19.0.10", "fd77:18::80", "::ffff:10.77.1.2"):
        assert guard.permits(ip), ip
    for ip in ("10.78.0.1", "127.0.0.1", "::1", "192.168.0.1", "fd78::1", "169.254.1.1"):
        assert not guard.permits(ip), ip


def test_allowing_loopback_does_not_allow_the_unspecified_address() -> None:
    guard = AddressGuard(allow=parse_cidrs(["127.0.0.0/8"]))
    assert guard.permits("127.0.0.1") and guard.permits("64:ff9b::7f00:1")
    assert not guard.permits("0.0.0.0")  # connecting to 0.0.0.0 reaches this host on Linux


def test_bad_cidrs_are_input_errors() -> None:
    with pytest.raises(InputError, match="not a CIDR: '10.0.0.0/33'"):
        parse_cidrs(["10.0.0.0/33"])
    assert [str(n) for n in parse_cidrs(["10.77.1.9/16", " fd77::/16 "])] == ["10.77.0.0/16", "fd77::/16"]


def test_address_union_keeps_both_sides_when_cut() -> None:
    own = ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5"]
    probe = ["9.9.9.9", "1.1.1.2", "junk", "::ffff:9.9.9.8", "9.9.9.7"]
    assert choose_addresses(own, probe, limit=6) == ["1.1.1.1", "9.9.9.9", "1.1.1.2", "1.1.1.3", "9.9.9.8",
                                                     "1.1.1.4"]
    assert choose_addresses([], ["junk"], limit=8) == []


@pytest.mark.parametrize("text", ["8.8.8.8:53", "[2606:4700::1111]:443", "2606:4700::1111%eth0",
                                  "fe80::1%lo", "[fe80::1%25lo]", "8.8.8.8 53", "8.8.8.8/32"])
def test_only_bare_addresses_count(text: str) -> None:
    """A probe-supplied address cannot carry a port (or an interface) with it: it is not an address."""
    assert normalise_ip(text) is None
    assert AddressGuard(allow=parse_cidrs(["::/0", "0.0.0.0/0"])).refusal(text) == ADDRESS_NOT_ALLOWED
