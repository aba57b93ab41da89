"""Fingerprint files: the shipped copies, our own files, the CSV format and matching."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path

import pytest

from probe.classify import load_fingerprints, parse_fingerprints
from probe.classify.fingerprints import CENSOR, COLUMNS, FP_SCOPE, SITE_SCOPE, TAKEDOWN_SCOPE
from probe.models import HTTPHeader

HEADER = ",".join(COLUMNS) + "\n"
SHIPPED = resources.files("probe").joinpath("data", "fingerprints")


def row(name: str, location: str, ptype: str, pattern: str, scope: str = "isp", cc: str = "KZ") -> str:
    return f'{name},{scope},,{location},{ptype},"{pattern}",5,{cc},test,,note for {name}\n'


def test_ooni_files_are_verbatim_copies_as_source_txt_says() -> None:
    source = SHIPPED.joinpath("SOURCE.txt").read_text(encoding="utf-8")
    for name in ("fingerprints_http.csv", "fingerprints_dns.csv"):
        digest = hashlib.sha256(SHIPPED.joinpath(name).read_bytes()).hexdigest()
        assert re.search(rf"{name}\s+sha256 {digest}", source), name
    assert "License" in source
    for ours in SHIPPED.iterdir():
        assert not ours.name.endswith(".csv") or ours.name in source, ours.name


def test_shipped_set_loads_without_warnings() -> None:
    fps = load_fingerprints(None)
    assert fps.warnings == ()
    assert len(fps.http) > 1700
    assert len(fps.dns) > 200
    assert {f.name for f in fps.tls_issuer} == {"kz.mitm_qaznet", "kz.mitm_isca_2020"}
    assert len(fps.digest) == 64
    names = {f.name for f in fps.http}
    assert {"kz.ru_info_resource_restricted", "site.cf_please_wait", "cp.fp_x_cloudflare_check"} <= names


def test_our_files_use_the_upstream_columns_and_scopes() -> None:
    fps = load_fingerprints(None)
    ours = [f for f in fps.http if f.source_file.startswith("probe_")]
    assert ours and all(f.scope in ("nat", "isp", SITE_SCOPE, TAKEDOWN_SCOPE) for f in ours)
    assert {f.source_file for f in ours} == {"probe_kz.csv", "probe_lab.csv", "probe_site.csv", "probe_takedown.csv"}
    assert all(f.scope == SITE_SCOPE for f in ours if f.source_file == "probe_site.csv")
    assert all(f.scope == TAKEDOWN_SCOPE and f.notes for f in ours if f.source_file == "probe_takedown.csv")


def test_dns_rows_by_address_and_cname() -> None:
    fps = load_fingerprints(None)
    hit = fps.match_dns("8.7.198.45")
    assert hit is not None and hit.name == "ooni.cn_0"
    cname = fps.match_dns("restricted.tri.co.id.")
    assert cname is not None and cname.name == "ooni.id_41"
    assert fps.match_dns("93.184.215.14") is None


def test_pattern_types_and_header_names() -> None:
    fps = parse_fingerprints({"t.csv": HEADER
                              + row("c", "body", "contains", "blocked by order")
                              + row("p", "header.location", "prefix", "http://block.example/")
                              + row("f", "header.server", "full", "Censor/1.0")
                              + row("r", "body", "regexp", "Access .* denied")})
    headers = [HTTPHeader(name="LOCATION", value="http://block.example/?u=x"),
               HTTPHeader(name="Server", value="Censor/1.0")]
    found = {f.name for f in fps.match_http(headers=headers, body_text="Access to it is denied; blocked by order")}
    assert found == {"c", "p", "f", "r"}
    assert fps.match_http(headers=[HTTPHeader(name="Server", value="Censor/1.0 extra")], body_text=None) == []
    # a pruned body (None) matches no body row, headers still match
    assert {f.name for f in fps.match_http(headers=headers, body_text=None)} == {"p", "f"}


def test_scope_filter() -> None:
    fps = parse_fingerprints({"t.csv": HEADER + row("a", "body", "contains", "x")
                              + row("b", "body", "contains", "x", scope=SITE_SCOPE)
                              + row("c", "body", "contains", "x", scope=FP_SCOPE)})
    assert [f.name for f in fps.match_http(headers=[], body_text="x", group=SITE_SCOPE)] == ["b"]
    assert [f.name for f in fps.match_http(headers=[], body_text="x", group=FP_SCOPE)] == ["c"]
    assert [f.name for f in fps.match_http(headers=[], body_text="x", group=CENSOR)] == ["a"]


def test_bad_rows_become_warnings_not_silence() -> None:
    fps = parse_fingerprints({"t.csv": HEADER
                              + row("loc", "cookie", "contains", "x")
                              + row("typ", "body", "fuzzy", "x")
                              + row("re", "body", "regexp", "([")
                              + row("ok", "body", "contains", "x")
                              + row("ok", "body", "contains", "y")
                              + row("dns", "dns", "contains", "1.2.3.4")})
    assert [f.name for f in fps.http] == ["ok"]
    assert len(fps.warnings) == 5
    assert all("skipped" in w for w in fps.warnings)


def test_issuer_rows() -> None:
    fps = load_fingerprints(None)
    hit = fps.match_issuer([None, "CN=Qaznet Trust Network,O=Qaznet,C=KZ"])
    assert hit is not None and hit.name == "kz.mitm_qaznet"
    assert fps.match_issuer(["CN=R11,O=Let's Encrypt,C=US"]) is None


def test_not_a_fingerprint_file() -> None:
    with pytest.raises(ValueError, match="missing"):
        parse_fingerprints({"t.csv": "a,b\n1,2\n"})


def test_directory_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_fingerprints(tmp_path / "nope")
    with pytest.raises(ValueError, match="no"):
        load_fingerprints(tmp_path)


def test_a_folder_replaces_the_shipped_set(tmp_path: Path) -> None:
    (tmp_path / "mine.csv").write_text(HEADER + row("mine", "body", "contains", "zzz"), encoding="utf-8")
    fps = load_fingerprints(tmp_path)
    assert [f.name for f in fps.http] == ["mine"]
    assert fps.digest != load_fingerprints(None).digest


def test_body_scan_is_fast_on_a_large_page() -> None:
    import time

    fps = load_fingerprints(None)
    text = "<p>" + "ordinary words in a long page " * 20000 + "</p>"
    start = time.perf_counter()
    assert fps.match_http(headers=[], body_text=text) == []
    assert time.perf_counter() - start < 1.0
