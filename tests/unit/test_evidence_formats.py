"""The bundle's derived formats: OONI JSON, WARC, PEM chains, and VERIFY.txt's by-hand commands.

The by-hand test runs the exact commands VERIFY.txt gives (openssl 3, sha256sum, xxd) on a real
bundle, so the instructions an advocate follows are known to work. It never skips: a missing tool
is a failure (`scripts/bootstrap --dev` installs xxd, which Debian does not install by default).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from evidence_samples import BLOCKPAGE, blockpage, mitm, sample_set
from warcio.archiveiterator import ArchiveIterator

from probe.evidence.bundle import certs, warc
from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.export import export_bundle
from probe.evidence.keys import fingerprint, generate_key, load_signer
from probe.evidence.ooni.export import to_ooni
from probe.store import EntryFilter, Store

WHEN = datetime(2026, 11, 26, 23, 20, tzinfo=UTC)


def test_ooni_view_has_web_connectivity_keys() -> None:
    m, artifacts, v = mitm(0, WHEN)
    data = {a.sha256: a.data for a in artifacts}
    control = m.control.model_copy(update={"client_ip": "203.0.113.77"}) if m.control else None
    record = to_ooni(m.model_copy(update={"control": control}), v, data.get)
    assert record["test_name"] == "web_connectivity" and record["probe_ip"] == "127.0.0.1"
    assert record["measurement_start_time"] == "2026-11-26 23:20:00"
    assert record["probe_asn"] == "AS9198" and record["input"] == "https://mail.kz/"
    keys = record["test_keys"]
    assert {"queries", "tcp_connect", "tls_handshakes", "requests", "blocking", "accessible", "control"} <= set(keys)
    assert keys["blocking"] == "http-failure" and keys["accessible"] is False
    der = base64.b64decode(keys["tls_handshakes"][0]["peer_certificates"][0]["data"])
    assert hashlib.sha256(der).hexdigest() == m.tls_handshakes[0].peer_certificates[0]
    assert "203.0.113.77" not in json.dumps(record)


def test_ooni_requests_are_newest_first_and_bodies_inline() -> None:
    m, artifacts, v = blockpage(0, WHEN)
    data = {a.sha256: a.data for a in artifacts}
    hop = m.requests[0]
    second = hop.model_copy(update={"request": hop.request.model_copy(update={"url": "http://rferl.org/next"})})
    record = to_ooni(m.model_copy(update={"requests": [hop, second]}), v, data.get)
    requests = record["test_keys"]["requests"]
    assert [r["request"]["url"] for r in requests] == ["http://rferl.org/next", "http://rferl.org/"]
    assert requests[0]["response"]["body"] == BLOCKPAGE.decode()


def test_warc_round_trip_keeps_the_body_and_neutralises_encodings() -> None:
    m, artifacts, _ = blockpage(0, WHEN)
    data = {a.sha256: a.data for a in artifacts}
    raw, included = warc.write_warc(m, data.get)
    assert included == [hashlib.sha256(BLOCKPAGE).hexdigest()]
    assert list(warc.response_bodies(raw)) == [(m.measurement_id, included[0], included[0])]
    records = list(ArchiveIterator(io.BytesIO(raw)))
    response = next(r for r in records if r.rec_type == "response")
    assert response.http_headers.get_header("X-Probe-Original-Content-Encoding") == "gzip"
    assert response.http_headers.get_header("Content-Encoding") is None
    assert response.rec_headers.get_header("WARC-Date").startswith("2026-11-26T23:20:00")
    # A pruned body: the exchange is still archived, headers only, marked truncated.
    raw2, none = warc.write_warc(m, lambda sha: None)
    assert none == [] and b"WARC-Truncated: unspecified" in raw2
    # Damage either fails to parse or yields no body: the body then is "not held" (see verify).
    assert list(warc.response_bodies(b"WARC/1.1\r\nnonsense")) == []
    with pytest.raises(ValueError):
        list(warc.response_bodies(b"garbage"))


def test_pem_chain_round_trip() -> None:
    m, artifacts, _ = mitm(0, WHEN)
    pem = certs.chain_pem([a.data for a in artifacts])
    assert certs.pem_der_hashes(pem) == [a.sha256 for a in artifacts]
    assert b"issuer=CN=Qaznet Trust Network" in pem
    broken = pem.replace(b"-----BEGIN CERTIFICATE-----\n", b"-----BEGIN CERTIFICATE-----\n!", 1)
    with pytest.raises(ValueError):
        certs.pem_der_hashes(broken)


def test_verify_txt_by_hand_commands_work(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k")
    with Store.open(tmp_path / "s.sqlite") as store:
        for m, a, v in sample_set(1):
            store.append(m, a, v, signer=load_signer(tmp_path / "k"))
        export_bundle(store, tmp_path / "b.zip", key=key, filt=EntryFilter())
    folder = tmp_path / "bundle"
    zipfile.ZipFile(tmp_path / "b.zip").extractall(folder)

    def sh(command: str) -> str:
        done = subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        return done.stdout + done.stderr

    text = (folder / mf.VERIFY_TXT).read_text()
    assert "openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.sig" in text
    assert "Signature Verified Successfully" in sh(
        "openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.sig")
    fp = sh("openssl pkey -pubin -in public_key.pem -outform DER | tail -c 32 | sha256sum").split()[0]
    assert "ed25519:" + fp == fingerprint(key.public_key()) and fingerprint(key.public_key()) in text
    assert "FAILED" not in sh("sha256sum -c SHA256SUMS")
    sums = sh("sha256sum SHA256SUMS").split()[0]
    assert sums in sh("grep -A1 '\"path\": \"SHA256SUMS\"' manifest.json")
    link = json.loads((folder / mf.MANIFEST).read_text())["measurements"][2]
    assert sh("sed -n 3p measurements.jsonl | tr -d '\\n' | sha256sum").split()[0] == link["record_sha256"]
    assert sh(f"printf '%s%s' {link['prev_hash']} {link['record_sha256']} | sha256sum").split()[0] == \
        link["chain_hash"]
    assert "Signature Verified Successfully" in sh(
        f"printf '%s' {link['chain_hash']} > link.txt && printf '%s' {link['signature']} | xxd -r -p > link.sig && "
        "openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in link.txt -sigfile link.sig")
    pem = next((folder / "artifacts" / "certs").glob("*.pem"))
    assert "Certificate:" in sh(f"openssl x509 -in {pem} -noout -text")
