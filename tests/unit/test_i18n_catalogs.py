"""The catalogs hold every message the translated modules show, translated, and the .mo match the .po.

Fails when someone adds or changes a user-facing English message without running scripts/i18n-update
and translating it (the message is named), or edits a .po without recompiling its .mo.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from probe.i18n import LOCALE_DIR
from probe.i18n_extract import TRANSLATED_MODULES, messages, messages_in

ROOT = Path(__file__).resolve().parents[2]
FIELD = re.compile(r"\{[a-z_]*\}")


def catalog(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "probe.po").open("rb") as handle:
        return read_po(handle, locale=lang)


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_every_message_shown_is_translated(lang: str) -> None:
    cat = catalog(lang)
    missing = [m for m in messages() if cat.get(m) is None]
    untranslated = [m for m in messages() if (e := cat.get(m)) is not None and (not e.string or e.fuzzy)]
    assert not missing, f"{lang}: not in the catalog (run scripts/i18n-update, then translate): {missing}"
    assert not untranslated, f"{lang}: untranslated or fuzzy in probe.po: {untranslated}"


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_translations_keep_the_fields_and_are_marked_for_review(lang: str) -> None:
    for entry in catalog(lang):
        if not entry.id:
            continue
        # A translation keeps the fields it needs and invents none; it may drop one its grammar does not use
        # (the English plural word {items}), but never the facts: counts, names, times, fingerprints.
        fields, english = set(FIELD.findall(entry.string)), set(FIELD.findall(entry.id))
        assert fields <= english, f"{lang}: unknown field in {entry.string!r}"
        droppable = {"{items}", "{measurement_word}", "{website_word}", "{warning_word}"}
        assert english - fields <= droppable, f"{lang}: a field was lost in {entry.id!r}"
        # Acronyms and bare patterns ("DNS", "{things}: {count}") read the same in every language.
        same_everywhere = not re.search(r"[a-z]", FIELD.sub("", entry.id))
        assert entry.string != entry.id or same_everywhere, f"{lang}: left in English: {entry.id}"
        # Nothing has been reviewed by a native speaker yet: until someone has, each message says so.
        assert any(c.startswith("REVIEW") for c in entry.user_comments), f"{lang}: no REVIEW note: {entry.id}"


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_compiled_mo_matches_the_po(lang: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalog(lang), use_fuzzy=False)
    shipped = (LOCALE_DIR / lang / "LC_MESSAGES" / "probe.mo").read_bytes()
    assert shipped == compiled.getvalue(), f"{lang}: probe.mo is stale: run scripts/i18n-update"


def test_template_and_catalogs_are_up_to_date() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "i18n-update"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_extractor_finds_each_kind_of_message() -> None:
    source = '''
import click
from probe.i18n import _, N_
X = N_("marked constant")
@click.command("demo")
@click.option("--flag", help="An option's help.")
def demo() -> None:
    """First paragraph.

    \\b
    Example:
      probe demo --flag
    """
    click.echo(_("Made {path}.").format(path=1))
    click.echo("not wrapped")
'''
    assert sorted(messages_in(source)) == sorted(
        ["marked constant", "An option's help.", "First paragraph.", "Example:", "Made {path}."])


def test_translated_modules_exist() -> None:
    for relative in TRANSLATED_MODULES:
        assert (ROOT / "probe" / relative).is_file(), relative


def test_no_module_that_translates_rebinds_the_underscore() -> None:
    """`x, _ = pair` in a function that also calls `_("…")` makes `_` local there: the call then fails with
    UnboundLocalError (a traceback for the user) on exactly the error path the message was for."""
    import ast

    rebound = []
    for path in sorted((ROOT / "probe").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports_it = any(isinstance(n, ast.ImportFrom) and n.module == "probe.i18n" and
                         any(a.name == "_" for a in n.names) for n in ast.walk(tree))
        if not imports_it:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store):
                rebound.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not rebound, f"`_` rebound where it translates (name the throwaway `_unused`): {rebound}"
