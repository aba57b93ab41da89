"""The lab's IP-to-ASN table, read by the probe's own ASN database: each ISP's side is its own network.

Pure (a file in tmp_path, no namespaces): the one-ISP table is the lab's historical one, and with the
second ISP every address of that ISP is Kar-Tel (AS21299) while the first ISP's stay Kazakhtelecom.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from probe.identity import AsnDatabase
from probe.lab import addressing as A

FIRST = (A.CLIENT_V4, A.CLIENT_V6, A.ISP_IN_V4, A.ISP_OUT_V4, A.BLOCKPAGE_V4, A.BLOCKPAGE_V6, "10.77.250.7")
SECOND = (A.B_CLIENT_V4, A.B_CLIENT_V6, A.B_ISP_IN_V4, A.B_ISP_IN_V6, A.B_ISP_OUT_V4, A.B_ISP_OUT_V6,
          A.B_INET_V4, A.B_INET_V6, A.B_BLOCKPAGE_V4, A.B_BLOCKPAGE_V6)
INTERNET = (A.CONTROL_V4, A.CONTROL_V6, A.HUB_V4, A.site_v4(0), A.site_v6(0), A.OTHER_HOSTING_V6)


def _db(tmp_path: Path, text: str) -> AsnDatabase:
    path = tmp_path / "asn.tsv"
    path.write_text(text, encoding="utf-8")
    return AsnDatabase.open(path)


def test_with_the_second_isp_each_isp_is_its_own_network(tmp_path: Path) -> None:
    db = _db(tmp_path, A.asn_tsv(second_isp=True))
    for ip in FIRST:
        assert (db.lookup(ip).asn, db.lookup(ip).name) == ("AS9198", "JSC Kazakhtelecom"), ip
    for ip in SECOND:
        assert (db.lookup(ip).asn, db.lookup(ip).cc, db.lookup(ip).name) == ("AS21299", "KZ", "Kar-Tel LLC"), ip
    for ip in INTERNET:
        assert db.lookup(ip).asn == "AS64500", ip


def test_the_one_isp_table_is_unchanged(tmp_path: Path) -> None:
    db = _db(tmp_path, A.asn_tsv())
    assert A.asn_tsv().count("\n") == 4
    for ip in FIRST + (A.B_CLIENT_V4,):
        assert db.lookup(ip).asn == "AS9198", ip
    for ip in INTERNET:
        assert db.lookup(ip).asn == "AS64500", ip


def test_the_second_isps_addresses_are_in_its_ranges_and_routed_apart() -> None:
    net4, net6 = ipaddress.ip_network(A.B_NET_V4), ipaddress.ip_network(A.B_NET_V6)
    first_v6 = ipaddress.ip_network("fd77::/30")  # inet routes it to the first ISP
    for ip in map(ipaddress.ip_address, SECOND):
        assert ip in (net4 if ip.version == 4 else net6), ip
        assert ip not in first_v6, ip
        assert A.is_lab_address(str(ip)) and A.in_probe_side(str(ip)), ip
    assert not net4.overlaps(A.LAB_BOGON_NET)
