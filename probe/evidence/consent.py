"""What `probe init` tells a volunteer before making the key: informed consent, in plain words.

Modelled on what OONI Probe asks its users to understand. Kept apart from the CLI so tests can
check the text itself (the same words are printed with or without --yes). The text is a list of
paragraphs, each one message in the gettext catalogs (probe/locale), so a translator works on one
idea at a time; `consent_text()` gives it in the current language, CONSENT is the English original.
"""

from __future__ import annotations

from probe.i18n import N_, _

# Each entry is one catalog message; a heading is a line of its own. Keep the numbers and the example
# network name: translators are asked to keep them too.
PARAGRAPHS: tuple[str, ...] = (
    N_("Before you run this probe, please read this."),
    N_("What the probe does"),
    N_("It tries to reach a list of websites from your internet connection, the way a browser would, and "
    "records what happens: whether the name was found, whether a connection was made, whether a secure "
    "connection worked, and what page came back. It compares that with the same attempt made from outside "
    "your country."),
    N_("What others may see"),
    N_("- Your internet provider, and anyone who watches your connection (in some countries, the government), "
    "can see that this computer is connecting to the websites on the list. Some of them may be sensitive "
    "or forbidden where you are. In some countries that can be risky: running a censorship probe may itself "
    "draw attention, or break a local law."),
    N_("- The probe looks like ordinary web browsing, but it is not hidden. It does not use Tor or a VPN."),
    N_("What the results contain, and what they do not"),
    N_("- Results name your network (its operator and number, e.g. \"AS9198 JSC Kazakhtelecom\") and country, "
    "and the time of each test."),
    N_("- Results never contain your internet (IP) address: it is removed before anything is stored, and "
    "checked again before anything is exported."),
    N_("- Results stay on this computer until you choose to export and share them."),
    N_("Your choice"),
    N_("- You can stop the probe at any time (Ctrl-C, or stop its service); what was measured is kept."),
    N_("- You can delete the results folder and the key whenever you want."),
    N_("Next, the probe makes its signing key. Measurements are signed with it so that anyone can check later "
    "that they were not changed. Keep the key file private; publish only its fingerprint."),
)
HEADINGS = frozenset({PARAGRAPHS[1], PARAGRAPHS[3], PARAGRAPHS[6], PARAGRAPHS[10]})
QUESTION_EN = N_("Do you understand this and want to set up the probe?")
WIDTH = 96


def _layout(paragraphs: tuple[str, ...], headings: frozenset[str], original: tuple[str, ...]) -> str:
    import functools
    import textwrap

    # Never break inside a hyphenated word ("IP-адреса", "интернет-провайдер"): it reads as two words.
    wrap = functools.partial(textwrap.wrap, break_on_hyphens=False)
    lines: list[str] = []
    for english, text in zip(original, paragraphs, strict=True):
        if english in headings:
            lines += ["", text]
        elif english.startswith("- "):
            lines += wrap(text, WIDTH, initial_indent="  ", subsequent_indent="    ")
        elif english == original[0]:
            lines.append(text)
        elif english == original[-1]:
            lines += [""] + wrap(text, WIDTH)
        else:
            lines += wrap(text, WIDTH, initial_indent="  ", subsequent_indent="  ")
    return "\n".join(lines) + "\n"


def consent_text() -> str:
    """The consent text in the current language (probe.i18n), laid out for a terminal."""
    return _layout(tuple(_(p) for p in PARAGRAPHS), HEADINGS, PARAGRAPHS)


def question() -> str:
    return _(QUESTION_EN)


CONSENT = _layout(PARAGRAPHS, HEADINGS, PARAGRAPHS)
QUESTION = QUESTION_EN
