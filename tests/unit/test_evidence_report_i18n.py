"""report.html and VERIFY.txt in Russian and Kazakh inside a bundle (`probe export --lang`), and
`probe verify` rendering each translated report again and comparing it byte for byte.

A real store of signed synthetic measurements, a real bundle, the real verifier.
"""

from __future__ import annotations

import html
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


# Words that read the same in every language: identifiers, names and the terms kept beside translations.
# The program and the tools VERIFY.txt names (and OpenSSL's own words, quoted), TLS terms, a JSON key.
_KEPT = {"probe", "openssl", "unzip", "sha", "sum", "signature", "verified", "successfully", "clienthello",
         "handshake", "ooni", "kind"}
_IDENTIFIER = re.compile(r'`[^`]*`|"[^"\s]*"|\bseq\b|\bprobe(?: [a-z][a-z.-]*)+|'
                         r"[a-z][a-z0-9+.-]*://\S+|\S*[/=]\S*|\S+\.[a-z]{2,5}\b|\b[A-Z][A-Z0-9_-]+\b|"
                         r"\b[a-z0-9]+(?:[._][a-z0-9]+)+\b|--?[a-z][a-z-]*|ed25519:\w+")


def prose_words(text: str, data: list[str]) -> set[str]:
    """Latin-script words of prose in `text`, once the measurements' own data (`data`: reasons, titles, issuers,
    which the report quotes as recorded) and identifiers are set aside."""
    for quoted in sorted(data, key=len, reverse=True):
        text = text.replace(quoted, " ")
    return {w.lower() for w in re.findall(r"[A-Za-z]{3,}", _IDENTIFIER.sub(" ", text))} - _KEPT


def recorded_data(store_path: Path) -> list[str]:
    found: list[str] = []
    with Store.open(store_path, create=False) as store:
        for entry in store.entries(EntryFilter()):
            verdict, m = entry.verdict, entry.measurement()
            found.append(m.network.probe_network_name)
            if verdict is not None:
                found += [*verdict.reasons, verdict.mitm_issuer or "", verdict.fingerprint or ""]
            found += [r.response.title for r in m.requests if r.response is not None and r.response.title]
            if m.control is not None and m.control.http is not None and m.control.http.title:
                found.append(m.control.http.title)
    return [f for f in found if f]


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_a_translated_report_and_verify_txt_have_no_english_sentence(made: tuple[Path, Ed25519PrivateKey],
                                                                     lang: str) -> None:
    """Every sentence of the page and of VERIFY.txt is translated: the bundle statements, the dates, the evidence
    paragraphs of blocked sites; only identifiers and the measurements' own recorded words stay as they are."""
    files = members(made[0])
    data = recorded_data(made[0].parent / "probe.sqlite")
    def shown(name: str) -> str:
        body = re.sub(rb"<style>.*?</style>", b"", files[name], flags=re.S)
        # VERIFY.txt's command lines (indented) are the same in every language, by design (tested above).
        body = b"\n".join(line for line in body.split(b"\n") if not line.startswith(b"    "))
        return html.unescape(text(body))

    for english, translated in ((mf.REPORT, f"report.{lang}.html"), (mf.VERIFY_TXT, f"VERIFY.{lang}.txt")):
        said = prose_words(shown(english), data)
        left = prose_words(shown(translated), data) & said
        assert not left, f"{translated}: English words left: {sorted(left)}"
    page = text(files[f"report.{lang}.html"])
    month = {"ru": "ноября", "kk": "қараша"}[lang]  # the samples are from late November 2026
    assert month in page and " Nov " not in page


def test_a_changed_word_in_a_translated_statement_fails_verify(made: tuple[Path, Ed25519PrivateKey],
                                                               tmp_path: Path) -> None:
    bundle, key = made
    signed = "подписаны в момент проведения".encode()
    assert signed in members(bundle)["report.ru.html"]  # the signing statement, in Russian

    def change(files: dict[str, bytes]) -> None:
        files["report.ru.html"] = files["report.ru.html"].replace(signed, "подписаны позже".encode(), 1)
        resign(files, key, lambda manifest: None)

    result = verify_bundle(rewrite(bundle, tmp_path / "t.zip", change))
    assert not result.ok and "report.ru.html" in failures(result)
