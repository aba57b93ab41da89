"""`probe init` and `--help` in each language, chosen by the locale (LANG, LC_ALL) or by `--lang`.

Run as `python -m probe` with a clean locale environment, so the language comes only from what each
test sets. The consent screen must be complete in each language: every paragraph of it, translated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from probe.evidence.consent import PARAGRAPHS
from probe.i18n import gettext_in

LOCALE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def probe(*args: str, locale: dict[str, str], key: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    env.update(locale, PROBE_KEY=str(key), PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "probe", *args], capture_output=True, text=True, timeout=60,
                          input=stdin, env=env, encoding="utf-8")


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("locale", "args", "lang"), [
    ({"LANG": "en_US.UTF-8"}, (), "en"),
    ({"LANG": "ru_KZ.UTF-8"}, (), "ru"),
    ({"LANG": "kk_KZ"}, (), "kk"),
    ({"LC_ALL": "kk_KZ.UTF-8", "LANG": "ru_RU.UTF-8"}, (), "kk"),
    ({"LANG": "en_US.UTF-8"}, ("--lang", "ru"), "ru"),
    ({"LANG": "ru_KZ.UTF-8"}, ("--lang", "kk"), "kk"),
    ({"LANG": "kk_KZ.UTF-8"}, ("--lang", "en"), "en"),
])
def test_consent_screen_in_each_language(tmp_path: Path, locale: dict[str, str], args: tuple[str, ...],
                                         lang: str) -> None:
    key = tmp_path / "config" / "key"
    made = probe(*args, "init", "--yes", locale=locale, key=key)
    assert made.returncode == 0, made.stderr
    shown = words(made.stdout)
    for paragraph in PARAGRAPHS:
        assert words(gettext_in(lang, paragraph)) in shown, paragraph
        if lang != "en":
            assert words(paragraph) not in shown  # no English left on a translated screen
    fingerprint_label = {"en": "Key fingerprint:", "ru": "Отпечаток ключа:", "kk": "Кілттің саусақ ізі:"}[lang]
    assert f"{fingerprint_label} ed25519:" in made.stdout and key.exists()


@pytest.mark.parametrize(("lang", "answer", "made"), [
    ("ru", "да\n", True), ("ru", "д\n", True), ("ru", "нет\n", False),
    ("kk", "иә\n", True), ("kk", "жоқ\n", False), ("kk", "y\n", True),
])
def test_consent_question_takes_an_answer_in_the_language(tmp_path: Path, lang: str, answer: str,
                                                           made: bool) -> None:
    key = tmp_path / "key"
    result = probe("--lang", lang, "init", locale={}, key=key, stdin=answer)
    assert gettext_in(lang, "Do you understand this and want to set up the probe?") in result.stdout
    assert gettext_in(lang, "y/N") in result.stdout
    assert (result.returncode == 0) is made and key.exists() is made, result.stderr


def test_help_in_russian_and_kazakh(tmp_path: Path) -> None:
    ru = probe("export", "--help", locale={"LANG": "ru_KZ.UTF-8"}, key=tmp_path / "k")
    assert ru.returncode == 0 and "Использование: python -m probe export" in ru.stdout and "Параметры:" in ru.stdout
    assert "Записать подписанный пакет доказательств" in ru.stdout
    assert "probe export --out kz-2026-11.zip" in ru.stdout  # example commands stay as they are
    kk = probe("--lang", "kk", "--help", locale={}, key=tmp_path / "k")
    assert kk.returncode == 0 and "Командалар:" in kk.stdout and "Баптау файлын тексеру." in kk.stdout


def test_an_error_in_russian_is_one_line(tmp_path: Path) -> None:
    bad = probe("init", "--key", str(tmp_path / "results" / "key"), locale={"LANG": "ru_RU.UTF-8"}, key=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("ошибка: --key ") and "вне папки results/" in bad.stderr


def test_unknown_language_is_refused_in_one_line(tmp_path: Path) -> None:
    bad = probe("--lang", "de", "init", locale={}, key=tmp_path / "k")
    assert bad.returncode == 2 and "'de' is not one of 'en', 'ru', 'kk'" in bad.stderr


def test_run_speaks_the_volunteers_language(tmp_path: Path) -> None:
    not_pem = tmp_path / "roots.txt"
    not_pem.write_text("not a certificate\n", encoding="utf-8")
    bad = probe("run", "https://example.org/", "--ca-bundle", str(not_pem), "--store", str(tmp_path / "s.sqlite"),
                locale={"LANG": "kk_KZ.UTF-8"}, key=tmp_path / "k")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("қате: --ca-bundle ") and "PEM жинағы емес" in bad.stderr
    helped = probe("--lang", "ru", "run", "--help", locale={}, key=tmp_path / "k")
    assert "Список сайтов: имя поставляемого списка" in helped.stdout and "Без индикатора выполнения." in helped.stdout


def test_results_in_russian(tmp_path: Path) -> None:
    from probe.store import Store

    with Store.open(tmp_path / "s.sqlite"):
        pass
    empty = probe("results", "--store", str(tmp_path / "s.sqlite"), locale={"LANG": "ru_KZ.UTF-8"}, key=tmp_path)
    assert empty.returncode == 0 and "нет подходящих сохранённых измерений" in empty.stderr
    missing = probe("--lang", "kk", "show", "abcdef12", "--store", str(tmp_path / "s.sqlite"), locale={}, key=tmp_path)
    assert missing.returncode == 2 and "идентификаторы бар өлшеу жоқ" in missing.stderr


def test_export_with_lang_then_verify(tmp_path: Path) -> None:
    from evidence_samples import sample_set

    from probe.evidence.keys import load_signer
    from probe.store import Store

    key = tmp_path / "config" / "key"
    assert probe("--lang", "kk", "init", "--yes", locale={}, key=key).returncode == 0
    store = tmp_path / "results" / "probe.sqlite"
    with Store.open(store) as s:
        for m, a, v in sample_set(1):
            s.append(m, a, v, signer=load_signer(key))
    out = tmp_path / "kz.zip"
    made = probe("export", "--out", str(out), "--store", str(store), "--lang", "ru", "--lang", "kk",
                 locale={"LANG": "kk_KZ.UTF-8"}, key=key)
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(out) as zf:
        assert {"report.html", "report.ru.html", "report.kk.html", "VERIFY.txt", "VERIFY.ru.txt",
                "VERIFY.kk.txt"} <= set(zf.namelist())
    checked = probe("verify", str(out), locale={"LANG": "ru_KZ.UTF-8"}, key=key)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "тексеру командасы: probe verify" in made.stdout and "кілтімен қол қойылды" in made.stdout
