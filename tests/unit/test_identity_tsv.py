"""Network identity from iptoasn TSV files: IPv4 and IPv6, gzip, unknowns, and errors at file:line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from probe.errors import ConfigError
from probe.identity import UNKNOWN, AsnDatabase, NetworkIdentity

ROWS = """\
1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET
2.0.0.0\t2.0.0.255\t0\tNone\tNot routed
10.77.0.0\t10.77.255.255\t9198\tKZ\tJSC Kazakhtelecom
92.46.0.0\t92.47.255.255\t9198\tKZ\tJSC Kazakhtelecom
2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64500\tNone\tDocumentation Net
fd77::\tfd77:ffff:ffff:ffff:ffff:ffff:ffff:ffff\t9198\tKZ\tJSC Kazakhtelecom
"""
KAZAKHTELECOM = NetworkIdentity(asn="AS9198", cc="KZ", name="JSC Kazakhtelecom", known=True)


@pytest.fixture
def tsv(tmp_path: Path) -> Path:
    path = tmp_path / "ip2asn-combined.tsv"
    path.write_text(ROWS, encoding="utf-8")
    return path


def test_lookups_in_both_families(tsv: Path) -> None:
    db = AsnDatabase.open(tsv)
    assert db.lookup("10.77.1.2") == KAZAKHTELECOM
    assert db.lookup("92.47.255.255") == KAZAKHTELECOM and db.lookup("92.46.0.0") == KAZAKHTELECOM
    assert db.lookup("fd77:1::2") == KAZAKHTELECOM
    assert db.lookup("::ffff:10.77.1.2") == KAZAKHTELECOM
    assert db.lookup("1.0.0.1") == NetworkIdentity("AS13335", "US", "CLOUDFLARENET", True)
    assert db.lookup("2001:db8::1").cc == "ZZ" and db.lookup("2001:db8::1").asn == "AS64500"


@pytest.mark.parametrize("ip", ["2.0.0.1", "92.48.0.0", "0.0.0.0", "255.255.255.255", "3fff::1", "nonsense", ""])
def test_not_routed_gaps_and_junk_are_unknown(tsv: Path, ip: str) -> None:
    assert AsnDatabase.open(tsv).lookup(ip) == UNKNOWN


def test_gzip_is_read_by_content(tmp_path: Path) -> None:
    path = tmp_path / "ip2asn-v4.tsv.gz"
    path.write_bytes(gzip.compress(ROWS.encode()))
    assert AsnDatabase.open(path).lookup("10.77.1.2") == KAZAKHTELECOM


def test_u32_rows_unsorted_rows_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "ip2asn-v4-u32.tsv"
    path.write_text("# lab database\n\n1551761408\t1551892479\t9198\tKZ\tJSC Kazakhtelecom\n"
                    "16777216\t16777471\t13335\tUS\tCLOUDFLARENET\n", encoding="utf-8")
    db = AsnDatabase.open(path)
    assert db.lookup("92.126.0.1") == KAZAKHTELECOM  # 1551761408 = 92.126.0.0
    assert db.lookup("1.0.0.9").asn == "AS13335"


def test_without_a_file_every_lookup_is_unknown(tmp_path: Path) -> None:
    none = AsnDatabase.open(None)
    assert none.is_empty and none.lookup("10.77.1.2") == UNKNOWN
    assert NetworkIdentity("AS0", "ZZ", "", False) == UNKNOWN
    missing = AsnDatabase.open(tmp_path / "absent.tsv")
    assert missing.is_empty and missing.problem is not None and "absent.tsv" in missing.problem


@pytest.mark.parametrize(("text", "line", "words"), [
    ("1.0.0.0\t1.0.0.255\t13335\tUS\tX\n1.0.1.0\t1.0.1.255\n", 2, "expected 5 tab-separated fields"),
    ("1.0.0.0\t1.0.0.255\t13335\tUS\tX\n1.0.1.0\t1.0.1.x\t1\tUS\tY\n", 2, "not an IP address"),
    ("1.0.0.0\t1.0.0.255\tAS-BAD\tUS\tX\n", 1, "invalid literal"),
    ("1.0.0.9\t1.0.0.1\t1\tUS\tX\n", 1, "do not make a range"),
    ("1.0.0.0\t::1\t1\tUS\tX\n", 1, "do not make a range"),
    ("1.0.0.0\t1.0.0.255\t1\tUS\tX\n1.0.0.128\t1.0.1.255\t2\tUS\tY\n", 2, "overlaps the one on line 1"),
])
def test_bad_rows_name_the_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        AsnDatabase.open(path)
    assert f"{path}:{line}:" in str(caught.value) and words in str(caught.value)


def test_a_truncated_gzip_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.tsv.gz"
    path.write_bytes(gzip.compress(ROWS.encode() * 50)[:60])
    with pytest.raises(ConfigError, match="cut.tsv.gz"):
        AsnDatabase.open(path)
