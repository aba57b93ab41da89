"""The volunteer's language: which one (en, ru, kk) and the gettext catalogs that translate into it.

Messages are written in English in the code and wrapped in `_()`; translations live in gettext
catalogs under probe/locale/<lang>/LC_MESSAGES/probe.po (edited by translators, see the README
there) and are read at run time from the compiled probe.mo beside each .po, with the standard
library's gettext alone (Babel is only a tool for maintainers and the tests).

The language is, in order: `probe --lang en|ru|kk`, else the first of LANGUAGE, LC_ALL,
LC_MESSAGES, LANG that names a language (`ru_KZ.UTF-8` -> ru, `kk_KZ` -> kk), else English.
A locale naming another language (`de_DE`) or `C`/`POSIX` means English. This module does not
decide what is user-facing, nor translate identifiers (verdict labels, failure strings, JSON keys):
those stay English everywhere so that evidence reads the same in every language.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path

LANGUAGES: tuple[str, ...] = ("en", "ru", "kk")
DOMAIN = "probe"
LOCALE_DIR = Path(__file__).parent / "locale"
_ENV_ORDER = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_current = "en"


def language_of(value: str) -> str | None:
    """The supported language a locale name means (`ru_KZ.UTF-8` -> ru), or None if it means another."""
    base = value.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return base if base in LANGUAGES else None


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for, by the GNU gettext order; English if none is supported.

    LANGUAGE is a colon-separated list of preferences (its first supported entry wins); each of the
    others names one locale. An empty variable is skipped, as gettext does.
    """
    env = os.environ if environ is None else environ
    for name in _ENV_ORDER:
        value = env.get(name, "")
        if not value:
            continue
        entries = value.split(":") if name == "LANGUAGE" else [value]
        for entry in entries:
            found = language_of(entry)
            if found:
                return found
        if name != "LANGUAGE":
            return "en"  # the locale names a language we do not have: English, not a later variable
    return "en"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog for one language (English: none, the messages are English already)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}")
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)


def set_language(lang: str | None) -> str:
    """Use `lang` for every later message (None: from the environment); returns the language chosen."""
    global _current
    _current = language_from_env() if lang is None else lang
    translations(_current)  # fails early on an unknown language
    return _current


def current_language() -> str:
    return _current


def _(message: str) -> str:
    """`message` in the current language (itself if the catalog lacks it)."""
    return translations(_current).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current).ngettext(singular, plural, n)


def gettext_in(lang: str, message: str) -> str:
    """`message` in a given language, whatever the current one is (reports written in several)."""
    return translations(lang).gettext(message)


set_language(None)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for the catalog, translate later"
    """Mark a message for the catalogs without translating it now (it is translated where it is shown)."""
    return message


@contextmanager
def using(lang: str) -> Iterator[None]:
    """Translate into `lang` inside the block (a report written in one language while the CLI speaks
    another), then go back. The probe's commands are single-threaded; nothing else changes it meanwhile."""
    global _current
    translations(lang)
    before, _current = _current, lang
    try:
        yield
    finally:
        _current = before
