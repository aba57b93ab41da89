"""The probe key: where it lives, its mode, no overwrite, the signer the store uses, bad key files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from evidence_samples import sample_set

from probe.errors import EvidenceError
from probe.evidence.keys import (
    default_key_path,
    fingerprint,
    generate_key,
    load_private_key,
    load_public_key_pem,
    load_signer,
    public_key_pem,
    signature_hex_valid,
)
from probe.store import Store


def test_default_path_honours_probe_key_then_xdg_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROBE_KEY", str(tmp_path / "explicit.key"))
    assert default_key_path() == tmp_path / "explicit.key"
    monkeypatch.delenv("PROBE_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert default_key_path() == tmp_path / "cfg" / "probe" / "probe_ed25519.key"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_key_path() == tmp_path / "home" / ".config" / "probe" / "probe_ed25519.key"
    assert "results" not in default_key_path().parts


def test_generate_makes_a_private_file_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "probe.key"
    key = generate_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    with pytest.raises(EvidenceError, match="already exists"):
        generate_key(path)
    assert path.read_bytes() == before
    assert fingerprint(load_private_key(path).public_key()) == fingerprint(key.public_key())


def test_fingerprint_is_sha256_of_the_raw_public_key(tmp_path: Path) -> None:
    import hashlib

    key = generate_key(tmp_path / "k")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert fingerprint(key.public_key()) == "ed25519:" + hashlib.sha256(raw).hexdigest()


def test_no_key_yet_at_the_default_place_means_no_signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_KEY", str(tmp_path / "absent.key"))
    assert load_signer() is None
    assert load_signer(None) is None


def test_an_explicit_key_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    # `probe run --key /typo` or a daemon config's `key = /typo` must not store unsigned measurements.
    typo = tmp_path / "typo.key"
    with pytest.raises(EvidenceError, match=f"no signing key at {typo}") as raised:
        load_signer(typo)
    assert raised.value.hint == f"run `probe init --key {typo}` or leave --key out"
    assert not typo.exists()


def test_the_signer_signs_chain_hashes_the_store_keeps(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k")
    signer = load_signer(tmp_path / "k")
    assert signer is not None
    measurement, artifacts, verdict = sample_set(1)[0]
    with Store.open(tmp_path / "s.sqlite") as store:
        entry = store.append(measurement, artifacts, verdict, signer=signer)
    assert entry.key_fingerprint == fingerprint(key.public_key())
    assert entry.signature is not None
    assert signature_hex_valid(key.public_key(), entry.signature, entry.chain_hash.encode("ascii"))
    assert not signature_hex_valid(key.public_key(), entry.signature, ("0" * 64).encode("ascii"))
    assert not signature_hex_valid(key.public_key(), "not hex", entry.chain_hash.encode("ascii"))


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    generate_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(EvidenceError, match="readable by other users"):
        load_signer(path)


@pytest.mark.parametrize("content", [b"", b"garbage",
                                     b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
def test_an_unreadable_key_file_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(EvidenceError, match="not a readable private key"):
        load_private_key(path)


def test_a_non_ed25519_key_is_refused(tmp_path: Path) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "k"
    path.write_bytes(other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
    os.chmod(path, 0o600)
    with pytest.raises(EvidenceError, match="not an Ed25519 key"):
        load_private_key(path)
    pem = other.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(EvidenceError, match="not an Ed25519 key"):
        load_public_key_pem(pem)


def test_public_key_pem_round_trips(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "k")
    again = load_public_key_pem(public_key_pem(key.public_key()))
    assert fingerprint(again) == fingerprint(key.public_key())
