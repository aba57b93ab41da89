"""The volunteer's language from the locale (GNU gettext order), and the catalogs the probe reads."""

from __future__ import annotations

import pytest

from probe.cli.help_i18n import translate_help
from probe.i18n import gettext_in, language_from_env, language_of, translations


@pytest.mark.parametrize(("env", "lang"), [
    ({"LANG": "ru_KZ.UTF-8"}, "ru"),
    ({"LANG": "kk_KZ"}, "kk"),
    ({"LANG": "kk_KZ.UTF-8@latin"}, "kk"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
    ({}, "en"),
    ({"LC_ALL": "kk_KZ.UTF-8", "LANG": "ru_RU.UTF-8"}, "kk"),       # LC_ALL before LANG
    ({"LC_MESSAGES": "ru_RU.UTF-8", "LANG": "kk_KZ"}, "ru"),         # LC_MESSAGES before LANG
    ({"LC_ALL": "", "LANG": "ru_RU"}, "ru"),                         # an empty variable is skipped
    ({"LANGUAGE": "de:kk:ru", "LANG": "en_US"}, "kk"),               # LANGUAGE: first supported entry
    ({"LANGUAGE": "de:fr", "LANG": "ru_KZ.UTF-8"}, "ru"),            # none supported: go on to LANG
    ({"LC_ALL": "de_DE", "LANG": "ru_RU"}, "en"),                    # the first locale set decides
])
def test_language_follows_the_locale(env: dict[str, str], lang: str) -> None:
    assert language_from_env(env) == lang


def test_language_of_names() -> None:
    assert language_of("ru-KZ") == "ru" and language_of("KK") == "kk" and language_of("POSIX") is None


def test_compiled_catalogs_are_found_and_used() -> None:
    assert gettext_in("ru", "Your choice") == "Ваш выбор"
    assert gettext_in("kk", "Your choice") == "Сіздің таңдауыңыз"
    assert gettext_in("en", "Your choice") == "Your choice"
    assert gettext_in("kk", "a message nobody wrote") == "a message nobody wrote"  # English when missing
    with pytest.raises(ValueError, match="unsupported language"):
        translations("de")


def test_help_examples_keep_their_commands() -> None:
    from probe.i18n import set_language

    try:
        set_language("kk")
        text = translate_help("The probe's signing key.\n\n\b\nExample:\n  probe key show")
    finally:
        set_language("en")
    assert text == "Бағдарламаның қолтаңба кілті.\n\n\b\nМысал:\n  probe key show"
