"""report.html and VERIFY.txt in Russian and Kazakh inside a bundle (`probe export --lang`), and
`probe verify` rendering each translated report again and comparing it byte for byte.

A real store of signed synthetic measurements, a real bundle, the real verifier.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evidence_samples import sample_set
from test_evidence_bundle import failures, members, resign, rewrite

from probe.evidence.bundle import manifest as mf
from probe.evidence.bundle.export import export_bundle
from probe.evidence.keys import fingerprint, generate_key, load_signer
from probe.evidence.verify.bundle import verify_bundle
from probe.store import EntryFilter, Store

KAZAKH_LETTERS = "әғқңөұүі"  # һ is rare in Kazakh words; the font check covers it too (browser test)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Ed25519PrivateKey]:
    root = tmp_path_factory.mktemp("i18n")
    key = generate_key(root / "key")
    with Store.open(root / "probe.sqlite") as store:
        for measurement, artifacts, verdict in sample_set(2):
            store.append(measurement, artifacts, verdict, signer=load_signer(root / "key"))
        export_bundle(store, root / "bundle.zip", key=key, filt=EntryFilter(), languages=("ru", "kk"))
    return root / "bundle.zip", key


def text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode("utf-8")))


def test_translated_reports_are_in_the_bundle_and_verify(made: tuple[Path, Ed25519PrivateKey]) -> None:
    bundle, key = made
    result = verify_bundle(bundle, expected_fingerprint=fingerprint(key.public_key()))
    assert result.ok, failures(result)
    assert result.checked["report"] == 3  # English, Russian and Kazakh, each rendered again and compared
    files = members(bundle)
    for name in ("report.ru.html", "report.kk.html", "VERIFY.ru.txt", "VERIFY.kk.txt", mf.REPORT, mf.VERIFY_TXT):
        assert name in files
    with zipfile.ZipFile(bundle) as zf:
        listed = {f["path"] for f in json.loads(zf.read(mf.MANIFEST))["files"]}
    assert {"report.ru.html", "report.kk.html", "VERIFY.ru.txt", "VERIFY.kk.txt"} <= listed


def test_each_report_speaks_its_language_and_keeps_the_labels(made: tuple[Path, Ed25519PrivateKey]) -> None:
    files = members(made[0])
    en, ru, kk = (files[name] for name in (mf.REPORT, "report.ru.html", "report.kk.html"))
    assert b'<html lang="en">' in en and b'<html lang="ru">' in ru and b'<html lang="kk">' in kk
    assert "Where and when" in text(en) and "Где и когда" in text(ru) and "Қайда және қашан" in text(kk)
    assert "Where and when" not in text(ru) + text(kk)
    assert all(letter in text(kk) for letter in KAZAKH_LETTERS)
    # Verdict labels are identifiers: the same badges (title = label) in every language; their words differ.
    labels = [re.findall(rb'class="badge [a-z]+" title="([^"]+)"', page) for page in (en, ru, kk)]
    assert labels[0] and labels[0] == labels[1] == labels[2]
    assert "заблокирован" in text(ru) and "бұғатталған" in text(kk)


def test_verify_txt_in_each_language_keeps_commands_and_fingerprint(made: tuple[Path, Ed25519PrivateKey]) -> None:
    files = members(made[0])
    fp = fingerprint(made[1].public_key())
    for name, heading in ((mf.VERIFY_TXT, "HOW TO CHECK"), ("VERIFY.ru.txt", "КАК ПРОВЕРИТЬ"),
                          ("VERIFY.kk.txt", "ҚАЛАЙ ТЕКСЕРУГЕ")):
        body = files[name].decode("utf-8")
        assert heading in body and fp in body
        commands = [line for line in files[mf.VERIFY_TXT].decode().splitlines() if line.startswith("    ")]
        assert [line for line in body.splitlines() if line.startswith("    ")] == commands, name


def test_a_changed_word_in_a_translated_report_fails_verify(made: tuple[Path, Ed25519PrivateKey],
                                                            tmp_path: Path) -> None:
    bundle, key = made

    def change(files: dict[str, bytes]) -> None:
        files["report.kk.html"] = files["report.kk.html"].replace("бұғатталған".encode(), "қолжетімді".encode(), 1)
        resign(files, key, lambda manifest: None)  # even re-signed by the probe's own key

    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", change))
    assert not result.ok
    assert "report.kk.html" in failures(result) and "it is not the report" in failures(result)
    assert "report.html:" not in failures(result) and "report.ru.html" not in failures(result)


def test_without_lang_only_english(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "key")
    with Store.open(tmp_path / "s.sqlite") as store:
        for measurement, artifacts, verdict in sample_set(1):
            store.append(measurement, artifacts, verdict, signer=load_signer(tmp_path / "key"))
        export_bundle(store, tmp_path / "b.zip", key=key, filt=EntryFilter())
    names = set(members(tmp_path / "b.zip"))
    assert mf.REPORT in names and not any(re.match(r"(report|VERIFY)\.(ru|kk)\.", n) for n in names)
    assert verify_bundle(tmp_path / "b.zip").checked["report"] == 1
