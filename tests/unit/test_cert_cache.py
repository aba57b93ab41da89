"""The remembered chain verifications (probe/net/certs.py): a trusted chain is verified once per
(chain, name, trust store) while its path is valid; anything else is checked afresh, as before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from test_control_fixtures import TestCA

from probe.net import certs
from probe.net.certs import validate_chain


def _der(ca: TestCA, label: str, name: str) -> bytes:
    cert = x509.load_pem_x509_certificate(ca.issue(label, names=(name,)).cert.read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    certs._verified.clear()


def test_a_trusted_chain_is_verified_once(tmp_path: Path) -> None:
    ca = TestCA(tmp_path)
    der = _der(ca, "site", "site.test")
    first = validate_chain([der], hostname="site.test", ca_bundle=ca.bundle)
    assert first.failure is None
    again = validate_chain([der], hostname="site.test", ca_bundle=ca.bundle)
    assert again is first and len(certs._verified) == 1


def test_another_name_or_store_or_a_later_time_is_checked_afresh(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    ca = TestCA(tmp_path / "a")
    der = _der(ca, "site", "site.test")
    assert validate_chain([der], hostname="site.test", ca_bundle=ca.bundle).failure is None
    # The same chain, another name: the remembered success must not answer for it.
    assert validate_chain([der], hostname="other.test", ca_bundle=ca.bundle).failure == "ssl_invalid_hostname"
    # Another trust store that does not hold the root.
    (tmp_path / "b").mkdir()
    stranger = TestCA(tmp_path / "b", name="Another Root")
    assert validate_chain([der], hostname="site.test", ca_bundle=stranger.bundle).failure == "ssl_unknown_authority"
    # After the leaf expired (10 days), the success is no longer remembered.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=11)
    expired = validate_chain([der], hostname="site.test", ca_bundle=ca.bundle, now=later)
    assert expired.failure == "ssl_invalid_certificate"


def test_failures_are_not_remembered_and_the_cache_is_bounded(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ca = TestCA(tmp_path)
    der = _der(ca, "site", "site.test")
    validate_chain([der], hostname="other.test", ca_bundle=ca.bundle)
    assert not certs._verified
    monkeypatch.setattr(certs, "VERIFIED_CACHE_SIZE", 2)
    ders = [_der(ca, f"s{i}", f"s{i}.test") for i in range(3)]
    for i, one in enumerate(ders):
        assert validate_chain([one], hostname=f"s{i}.test", ca_bundle=ca.bundle).failure is None
    assert len(certs._verified) == 2
