"""Network identity from MaxMind-format databases, written here by a tiny MaxMind DB v2 writer.

The writer knows just enough of the format (https://maxmind.github.io/MaxMind-DB/): an IPv6 search
tree with 24-bit records (IPv4 networks live under ::/96), a data section of maps, strings and
unsigned integers, and the metadata map after the marker.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest

from probe.errors import ConfigError
from probe.identity import UNKNOWN, AsnDatabase, NetworkIdentity


@dataclass(frozen=True)
class Typed:
    """An unsigned integer of a given MaxMind type: libmaxminddb checks metadata types exactly."""

    kind: int  # 5 uint16, 6 uint32, 9 uint64
    value: int


@dataclass(frozen=True)
class Leaf:
    offset: int  # of the record in the data section


Value = str | int | Typed | dict[str, "Value"] | list["Value"]


def _control(kind: int, size: int) -> bytes:
    """Control byte(s) for a type and payload size (types above 7 are 'extended')."""
    extended = kind > 7
    if size < 29:
        head, tail = size, b""
    elif size < 285:
        head, tail = 29, bytes([size - 29])
    else:
        head, tail = 30, (size - 285).to_bytes(2, "big")
    first = bytes([((0 if extended else kind) << 5) | head])
    return first + (bytes([kind - 7]) if extended else b"") + tail


def encode(value: Value) -> bytes:
    if isinstance(value, str):
        raw = value.encode()
        return _control(2, len(raw)) + raw
    if isinstance(value, int):
        value = Typed(6, value)  # uint32, what ASN databases use for numbers
    if isinstance(value, Typed):
        raw = value.value.to_bytes((value.value.bit_length() + 7) // 8, "big")
        return _control(value.kind, len(raw)) + raw
    if isinstance(value, dict):
        return _control(7, len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    return _control(11, len(value)) + b"".join(encode(v) for v in value)


def write_mmdb(path: Path, networks: dict[str, dict[str, Value]], database_type: str = "Test-ASN") -> None:
    data = bytearray()
    leaves: list[tuple[str, int]] = []  # (bits, data offset)
    for cidr, fields in networks.items():
        net = ipaddress.ip_network(cidr)
        value = int(net.network_address)  # an IPv4 network sits under ::/96, so the value is the same
        prefix = net.prefixlen if net.version == 6 else 96 + net.prefixlen
        leaves.append((format(value, "0128b")[:prefix], len(data)))
        data += encode(fields)
    nodes: list[list[int | Leaf | None]] = [[None, None]]
    for bits, offset in leaves:
        node = 0
        for depth, bit in enumerate(bits):
            side = int(bit)
            if depth == len(bits) - 1:
                nodes[node][side] = Leaf(offset)
                continue
            child = nodes[node][side]
            if not isinstance(child, int):
                nodes.append([None, None])
                child = nodes[node][side] = len(nodes) - 1
            node = child
    count = len(nodes)

    def record(item: int | Leaf | None) -> int:
        if item is None:
            return count  # "no data"
        if isinstance(item, Leaf):
            return count + 16 + item.offset  # pointers into the data section skip the 16-byte separator
        return item

    tree = b"".join(record(left).to_bytes(3, "big") + record(right).to_bytes(3, "big") for left, right in nodes)
    metadata: dict[str, Value] = {
        "binary_format_major_version": Typed(5, 2), "binary_format_minor_version": Typed(5, 0),
        "build_epoch": Typed(9, 1_700_000_000), "database_type": database_type, "description": {"en": "test"},
        "ip_version": Typed(5, 6), "languages": ["en"], "node_count": Typed(6, count),
        "record_size": Typed(5, 24)}
    path.write_bytes(tree + b"\x00" * 16 + bytes(data) + b"\xab\xcd\xefMaxMind.com" + encode(metadata))


def test_the_writer_is_readable_by_maxminddb(tmp_path: Path) -> None:
    import maxminddb

    path = tmp_path / "t.mmdb"
    write_mmdb(path, {"10.77.0.0/16": {"autonomous_system_number": 9198, "x": "y" * 300}})
    with maxminddb.open_database(str(path)) as reader:
        assert reader.get("10.77.3.4") == {"autonomous_system_number": 9198, "x": "y" * 300}
        assert reader.get("10.78.0.1") is None


def test_geolite2_asn_style_records(tmp_path: Path) -> None:
    path = tmp_path / "GeoLite2-ASN.mmdb"
    write_mmdb(path, {
        "10.77.0.0/16": {"autonomous_system_number": 9198, "autonomous_system_organization": "JSC Kazakhtelecom",
                         "country": {"iso_code": "KZ", "names": {"en": "Kazakhstan"}}},
        "1.0.0.0/24": {"autonomous_system_number": 13335, "autonomous_system_organization": "CLOUDFLARENET"},
        "fd77::/16": {"autonomous_system_number": 9198, "autonomous_system_organization": "JSC Kazakhtelecom"},
    })
    db = AsnDatabase.open(path)
    assert db.lookup("10.77.1.2") == NetworkIdentity("AS9198", "KZ", "JSC Kazakhtelecom", True)
    assert db.lookup("1.0.0.1") == NetworkIdentity("AS13335", "ZZ", "CLOUDFLARENET", True)  # no country field
    assert db.lookup("fd77:1::2").asn == "AS9198"
    assert db.lookup("::ffff:10.77.1.2").asn == "AS9198"
    assert db.lookup("8.8.8.8") == UNKNOWN and db.lookup("junk") == UNKNOWN
    db.close()


def test_ipinfo_style_records_found_by_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "asn.db"  # no .mmdb suffix: recognised by the metadata marker
    write_mmdb(path, {"92.46.0.0/15": {"asn": "AS9198", "as_name": "JSC Kazakhtelecom", "country": "kz"}})
    assert AsnDatabase.open(path).lookup("92.47.1.1") == NetworkIdentity("AS9198", "KZ", "JSC Kazakhtelecom", True)


def test_a_corrupt_mmdb_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.mmdb"
    path.write_bytes(b"\x00" * 64 + b"\xab\xcd\xefMaxMind.com" + b"\xe1garbage")
    with pytest.raises(ConfigError, match="broken.mmdb"):
        AsnDatabase.open(path)
