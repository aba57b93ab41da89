"""Every statement VERIFY.txt and report.html make about a bundle is computed from what it holds.

Issue 13: a bundle of 7 measurements, 6 of them unsigned, said "Every measurement was signed when it
was taken". Each test below builds a bundle that would make one fixed sentence false and checks the
texts say what is true instead (and that `probe verify`, which renders the report again, agrees).
"""

from __future__ import annotations

import html
import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from evidence_samples import sample_set

from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.export import export_bundle
from probe.evidence.bundle.statements import BundleFacts, all_sentences, signing_sentences
from probe.evidence.keys import fingerprint, generate_key, load_signer
from probe.evidence.verify.bundle import verify_bundle
from probe.store import EntryFilter, Store


def _texts(bundle: Path) -> tuple[str, str]:
    with zipfile.ZipFile(bundle) as zf:
        verify_txt = zf.read(mf.VERIFY_TXT).decode()
        report = zf.read(mf.REPORT).decode()
    flat = " ".join(verify_txt.split())
    page = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", report)).split())
    return flat, page


def _export(tmp_path: Path, *, unsigned: int, signed: int, verdicts: bool = True) -> tuple[Path, str]:
    key_path = tmp_path / "key"
    key = generate_key(key_path)
    samples = sample_set(2)[: unsigned + signed]
    with Store.open(tmp_path / "probe.sqlite") as store:
        for i, (measurement, artifacts, verdict) in enumerate(samples):
            store.append(measurement, artifacts, verdict if verdicts or i >= unsigned else None,
                         signer=load_signer(key_path) if i >= unsigned else None)
        out = tmp_path / "bundle.zip"
        export_bundle(store, out, key=key, filt=EntryFilter())
    return out, fingerprint(key.public_key())


def test_a_bundle_of_mostly_unsigned_measurements_says_how_many_are_signed(tmp_path: Path) -> None:
    bundle, fp = _export(tmp_path, unsigned=6, signed=1)
    for text in _texts(bundle):
        assert "Every measurement was signed" not in text and "All 7 measurements were signed" not in text
        assert f"1 of the 7 measurements were signed when they were taken, by this bundle's key {fp}" in text
        assert "6 were not signed at all" in text
    result = verify_bundle(bundle)
    assert result.ok, [str(f) for f in result.failures]  # the report verify renders again says the same


def test_a_fully_signed_bundle_says_all_were_signed(tmp_path: Path) -> None:
    bundle, fp = _export(tmp_path, unsigned=0, signed=4)
    for text in _texts(bundle):
        assert f"All 4 measurements were signed when they were taken, by this bundle's key {fp}" in text
        assert "not signed at all" not in text
        assert "Every verdict stated here is a signed verdict record" in text
    assert verify_bundle(bundle).ok


def test_measurements_without_a_signed_verdict_are_counted(tmp_path: Path) -> None:
    bundle, _ = _export(tmp_path, unsigned=2, signed=1, verdicts=False)
    for text in _texts(bundle):
        assert "Every verdict stated here" not in text
        assert "1 of the 3 measurements carry a verdict" in text and "2 carry none here" in text


def test_verify_txt_states_the_time_span_third_parties_and_retention(tmp_path: Path) -> None:
    bundle, _ = _export(tmp_path, unsigned=0, signed=3)
    verify_txt, report = _texts(bundle)
    assert re.search(r"Taken (on|between) \d+ \w+ 20\d\d \d\d:\d\d UTC", verify_txt)
    assert "It holds no third-party measurements." in verify_txt
    assert "Retention deleted none of the raw data" in verify_txt
    assert "Taken " in report and "by the probe computer's clock" in verify_txt


def test_retention_is_stated_when_it_deleted_cited_bytes(tmp_path: Path) -> None:
    key_path = tmp_path / "key"
    key = generate_key(key_path)
    with Store.open(tmp_path / "probe.sqlite") as store:
        for measurement, artifacts, verdict in sample_set(1):
            store.append(measurement, artifacts, verdict, signer=load_signer(key_path))
        assert store.prune_artifacts(older_than="2999-01-01T00:00:00Z") > 0
        out = tmp_path / "bundle.zip"
        export_bundle(store, out, key=key, filt=EntryFilter())
    verify_txt, _ = _texts(out)
    assert "Retention deleted none" not in verify_txt
    assert re.search(r"Retention deleted \d+ raw items? .* cited by \d+ measurements? before this export", verify_txt)


@pytest.mark.parametrize(("signers", "expected"), [
    (Counter({"ed25519:a": 2}), "Both 2 measurements were signed"),
    (Counter({"ed25519:a": 1}), "The measurement was signed when it was taken"),
    (Counter({"ed25519:a": 1, "ed25519:b": 2}), "1 of the 3 measurements were signed when they were taken, by this "
                                                "bundle's key ed25519:a; 2 by another key, ed25519:b."),
])
def test_signing_sentences_name_every_key(signers: Counter[str], expected: str) -> None:
    facts = BundleFacts(measurements=sum(signers.values()), exporting_key="ed25519:a", signers=signers)
    assert expected in " ".join(signing_sentences(facts))


def test_third_party_measurements_are_stated_as_oonis() -> None:
    facts = BundleFacts(measurements=1, exporting_key="ed25519:a", signers=Counter({"ed25519:a": 1}), third_party=3)
    text = " ".join(all_sentences(facts))
    assert "3 measurements by OONI" in text and "not taken or signed by this probe" in text
