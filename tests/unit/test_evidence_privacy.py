"""Privacy: the exporter's last check finds the probe's address in any form and refuses to export.

The measure layer scrubs the address before storing; here records are stored *unscrubbed* on
purpose to prove the export notices (an end-to-end lab test with an echoing origin comes later).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from address_spellings import OWN_V4, OWN_V6, V4_SPELLINGS, V6_SPELLINGS, WIDE
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evidence_samples import Sample, accessible, blockpage, sample_set

from probe.errors import EvidenceError
from probe.evidence.bundle.export import export_bundle
from probe.evidence.keys import fingerprint
from probe.evidence.privacy import scan_for_addresses
from probe.models import Artifact, ArtifactRef, HTTPHeader, HTTPResponse
from probe.store import EntryFilter, Store
from probe.store.own_addresses import OwnAddressMemory

PROBE_IP = "203.0.113.77"


@pytest.mark.parametrize(("text", "found"), [
    (b"your address is 203.0.113.77", True),
    (b"seen from 203.0.113.77.", True),  # end of a sentence
    (b'{"client_ip":"203.0.113.77"}', True),
    (b"X-Forwarded-For: ::ffff:203.0.113.77", True),
    (b"203.0.113.7", False),
    (b"203.0.113.770", False),
    (b"1203.0.113.77", False),
    (b"203.0.113.77.5", False),
    (b"nothing here", False),
])
def test_ipv4_forms(text: bytes, found: bool) -> None:
    assert bool(scan_for_addresses(text, [PROBE_IP])) is found


@pytest.mark.parametrize(("text", "found"), [
    (b"[2001:db8::42]:443", True),
    (b"client 2001:DB8::42 said", True),
    (b"2001:0db8:0000:0000:0000:0000:0000:0042", True),
    (b"2001:db8::421", False),
    (b"2001:db8::4", False),
])
def test_ipv6_forms(text: bytes, found: bool) -> None:
    assert bool(scan_for_addresses(text, ["2001:db8::42"])) is found


def test_wire_bytes_are_searched_packed_when_asked() -> None:
    wire = b"\x00\x08\x00\x07\x00\x01\x20\x00" + bytes([203, 0, 113, 77])  # an EDNS client-subnet option
    assert scan_for_addresses(wire, [PROBE_IP], binary=True) == [PROBE_IP]
    assert scan_for_addresses(wire, [PROBE_IP]) == []


def test_a_typo_is_an_error_not_a_pass() -> None:
    with pytest.raises(ValueError):
        scan_for_addresses(b"", ["203.0.113"])


KEY = Ed25519PrivateKey.generate()  # signs the stored measurements and the bundles made from them


def _sign(chain_hash_hex: str) -> tuple[str, str]:
    return KEY.sign(chain_hash_hex.encode("ascii")).hex(), fingerprint(KEY.public_key())


def _store(tmp_path: Path, extra: list[Sample]) -> Path:
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        for m, a, v in [*sample_set(1), *extra]:
            store.append(m, a, v, signer=_sign)
    return path


def test_a_recorded_client_ip_blocks_the_export(tmp_path: Path) -> None:
    m, a, v = accessible(7, datetime(2026, 11, 27, tzinfo=UTC))
    assert m.control is not None
    leaky = m.model_copy(update={"control": m.control.model_copy(update={"client_ip": PROBE_IP})})
    path = _store(tmp_path, [(leaky, a, v)])
    out = tmp_path / "out.zip"
    with Store.open(path) as store, pytest.raises(EvidenceError, match="measurements.jsonl"):
        export_bundle(store, out, key=KEY, filt=EntryFilter())
    assert not out.exists() and not (tmp_path / "out.zip.partial").exists()


def test_an_address_echoed_in_a_body_blocks_the_export(tmp_path: Path) -> None:
    m, _, v = blockpage(9, datetime(2026, 11, 27, tzinfo=UTC))
    body = Artifact.of("http_body", b"<html><title>echo</title>Your IP: " + PROBE_IP.encode() + b"</html>")
    hop = m.requests[0]
    assert hop.response is not None
    response = HTTPResponse(code=200, headers=hop.response.headers, body_length=len(body.data),
                            body_sha256=body.sha256)
    echoed = m.model_copy(update={"requests": [hop.model_copy(update={"response": response})],
                                  "artifacts": [ArtifactRef(sha256=body.sha256, kind="http_body", size=5)]})
    path = _store(tmp_path, [(echoed, [body], v)])
    out = tmp_path / "out.zip"
    with Store.open(path) as store:
        with pytest.raises(EvidenceError) as caught:
            export_bundle(store, out, key=KEY, filt=EntryFilter(), scrub_ips=(PROBE_IP,))
        assert "artifacts/http/" in caught.value.message and "ooni/web_connectivity.jsonl" in caught.value.message
        assert not out.exists()
        # The same store exports when the address is not the probe's (nothing to hide).
        export_bundle(store, out, key=KEY, filt=EntryFilter(), scrub_ips=("192.0.2.1",))
    assert out.exists()


def test_a_bad_scrub_address_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store, pytest.raises(EvidenceError, match="--scrub-ip"):
        export_bundle(store, tmp_path / "o.zip", key=Ed25519PrivateKey.generate(), filt=EntryFilter(),
                      scrub_ips=("not-an-ip",))


# Issue 18 #4: every spelling of the volunteer's address (192.0.2.2 behind the helper) is a leak the
# export refuses, in a body and in a record's header, and so is a UTF-16 or UTF-32 body.

@pytest.mark.parametrize("spelling", V4_SPELLINGS + V6_SPELLINGS)
def test_every_spelling_is_found_by_the_leak_check(spelling: str) -> None:
    assert scan_for_addresses(f"<p>Your IP: {spelling}</p>".encode(), [OWN_V4, OWN_V6])
    assert scan_for_addresses(f"<p>Your IP: {spelling}</p>".encode("utf-16"), [OWN_V4, OWN_V6])
    assert not scan_for_addresses(f"<p>Your IP: {spelling}</p>".encode(), ["192.0.2.3", "2001:db8:77::3"])


def _echoing_store(tmp_path: Path, body: bytes, header: str) -> Path:
    m, _, v = blockpage(9, datetime(2026, 11, 27, tzinfo=UTC))
    artifact = Artifact.of("http_body", body)
    hop = m.requests[0]
    assert hop.response is not None
    response = HTTPResponse(code=302, headers=[*hop.response.headers, HTTPHeader(name="Location", value=header)],
                            body_length=len(body), body_sha256=artifact.sha256)
    echoed = m.model_copy(update={"requests": [hop.model_copy(update={"response": response})],
                                  "artifacts": [ArtifactRef(sha256=artifact.sha256, kind="http_body",
                                                            size=len(body))]})
    return _store(tmp_path, [(echoed, [artifact], v)])


@pytest.mark.parametrize("spelling", V4_SPELLINGS + V6_SPELLINGS)
def test_an_export_carrying_any_spelling_is_refused(tmp_path: Path, spelling: str) -> None:
    for where, body, header in (("artifacts/http/", f"<title>{spelling}</title>".encode(), "/ok"),
                                ("measurements.jsonl", b"<p>nothing</p>", f"/next?ip={spelling}")):
        path = _echoing_store(tmp_path / where.replace("/", "_"), body, header)
        out = tmp_path / "out.zip"
        with Store.open(path) as store, pytest.raises(EvidenceError) as caught:
            export_bundle(store, out, key=KEY, filt=EntryFilter(), scrub_ips=(OWN_V4, OWN_V6))
        assert where in caught.value.message and not out.exists()


@pytest.mark.parametrize("encoding", WIDE)
def test_an_export_carrying_a_wide_body_is_refused(tmp_path: Path, encoding: str) -> None:
    path = _echoing_store(tmp_path, f"<p>Ваш IP: {OWN_V4}</p>".encode(encoding), "/ok")
    with Store.open(path) as store, pytest.raises(EvidenceError, match="artifacts/http/"):
        export_bundle(store, tmp_path / "out.zip", key=KEY, filt=EntryFilter(), scrub_ips=(OWN_V4,))


def test_a_spelling_of_another_address_does_not_block_the_export(tmp_path: Path) -> None:
    path = _echoing_store(tmp_path, b"<p>ip-192-0-2-3 3221225987 192%2E0%2E2%2E3</p>", "/next?ip=ip-192-0-2-3")
    with Store.open(path) as store:
        export_bundle(store, tmp_path / "out.zip", key=KEY, filt=EntryFilter(), scrub_ips=(OWN_V4,))
    assert (tmp_path / "out.zip").exists()


def test_a_long_spelling_across_a_read_boundary_is_still_found(tmp_path: Path) -> None:
    """The leak check reads files in 1 MiB chunks with an overlap longer than any spelling it reads:
    here an escaped address in UTF-32 (180 bytes) straddles the first boundary at every offset."""
    from probe.evidence.bundle.export import _CHUNK, _file_contains

    spelling = "&#49;&#57;&#50;&#46;&#48;&#46;&#50;&#46;&#50;".encode("utf-32-le")
    for before in range(4, len(spelling), 8):
        path = tmp_path / f"{before}.bin.txt"
        path.write_bytes(b"x" * (_CHUNK - before) + spelling + b"x" * 100)
        assert _file_contains(path, (OWN_V4,), OwnAddressMemory.empty()), before
