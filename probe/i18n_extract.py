"""Find the user-facing English messages of the translated modules (for the catalogs and their test).

A maintainer's tool, never imported by a running probe: it walks the source of TRANSLATED_MODULES with
`ast` and collects what `probe.i18n._` / `ngettext` / `N_` wrap, the `help=` texts of click options
and commands, and the docstrings of click commands (split into the paragraphs the help formatter
translates, probe.cli.help_i18n), plus click's own words our formatter translates and the command
table of `probe --help` and the words for verdicts (probe.evidence.explain). Babel's extractor sees
only the first kind; the rest are click's and this project's conventions.
scripts/i18n-update writes these into probe/locale/probe.pot and the .po files; the test
tests/unit/test_i18n_catalogs.py fails when one of them is missing or untranslated.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from probe.cli.help_i18n import COMMENT

PACKAGE = Path(__file__).parent
# The modules whose messages are translated, relative to probe/. Add a module here once its strings
# are wrapped; the catalog test then holds it to full translation.
TRANSLATED_MODULES: tuple[str, ...] = (
    "cli/main.py",
    "cli/run.py",
    "cli/classify.py",
    "cli/session.py",  # the run's store: refused on a nearly full disk
    "cli/results.py",
    "cli/options.py",
    "cli/lists.py",
    "cli/tables.py",
    "evidence/consent.py",
    "evidence/report/page.py",
    "evidence/bundle/howto.py",
    "evidence/bundle/statements.py",
    "evidence/explain.py",
    "evidence/report/svg.py",
    "evidence/bundle/third_party.py",
    "evidence/report/takedown.py",
    "evidence/bundle/export.py",
    "evidence/bundle/staging.py",
    "evidence/history.py",
    "cli/daemon.py",
    "cli/evidence.py",
    "errors.py",
    "targets/problems.py",
    "targets/parse.py",
    "targets/reader.py",
    "targets/validate.py",
    "targets/urls.py",
    "targets/loader.py",
    "targets/registry.py",
    "evidence/keys.py",
    "store/store.py",
    "config/load.py",
    # `probe verify`'s findings (what passed, what failed and why) and the export's refusals of a tampered store
    "evidence/verify/result.py",
    "evidence/verify/bundle.py",
    "evidence/verify/artifacts.py",
    "evidence/verify/chain.py",
    "evidence/verify/links.py",
    "evidence/verify/records.py",
    "evidence/verify/store.py",
    "evidence/verify/store_rows.py",
    "evidence/verify/verdicts.py",
    "evidence/bundle/artifacts.py",
    "hub/bundle_verify.py",
    # the --help (and one-line messages) of the remaining command groups: upload, hub, import, control, lab
    "cli/hub.py",
    "cli/imports.py",
    "cli/control.py",
    "cli/lab.py",
    "cli/help_i18n.py",  # click's usage errors, rebuilt in the volunteer's language
    "targets/lint.py",
    "targets/render.py",
    "targets/legend.py",
    "targets/importer.py",
    "hub/upload.py",  # a volunteer's join and upload
    "hub/fetch.py",  # an advocate's `probe export --hub`
)
# Words click writes into help and prompts that our formatter passes through the catalogs.
CLICK_WORDS: tuple[str, ...] = (
    "Usage:", "Options", "Commands", "Show this message and exit.", "Show the version and exit.",
    "required", "default:", "Example:", "y/N", "y", "yes",
)
_MARKERS = {"_", "N_", "ngettext", "gettext_in"}


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_click_command(func: ast.FunctionDef) -> bool:
    for decorator in func.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in {"command", "group"}:
            return True
    return False


def help_units(text: str) -> list[str]:
    """The messages one help text is translated as (the paragraphs probe.cli.help_i18n looks up)."""
    units: list[str] = []
    for paragraph in inspect.cleandoc(text).partition("\f")[0].split("\n\n"):
        if paragraph.startswith("\b"):
            units += [line for line in paragraph.split("\n") if line and line[0] not in " \b"]
            units += [found.group(1) for line in paragraph.split("\n")
                      if line.startswith(" ") and (found := COMMENT.search(line))]
        elif paragraph.strip():
            units.append(paragraph)
    return units


def messages_in(source: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            if name in _MARKERS:
                found += [text for arg in node.args if (text := _literal(arg)) is not None]
            for keyword in node.keywords:
                if keyword.arg == "help" and (text := _literal(keyword.value)) is not None:
                    found += help_units(text)
        elif isinstance(node, ast.FunctionDef) and _is_click_command(node):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                found += help_units(docstring)
    return found


def messages() -> list[str]:
    """Every message to translate, in a stable order without repeats."""
    from probe.cli.main import COMMANDS, cli
    from probe.evidence.explain import SHORT, TECHNIQUES

    found: list[str] = list(CLICK_WORDS)
    found += help_units(cli.help or "")
    found += [help_text for _module, _attr, help_text in COMMANDS.values()]
    # What verdicts mean, in words (the report translates these; the labels themselves stay).
    found += [text for family, description in TECHNIQUES.values() for text in (family, description)]
    found += [*SHORT.values(), "TLS SNI filtering", "Other"]
    for relative in TRANSLATED_MODULES:
        found += messages_in((PACKAGE / relative).read_text(encoding="utf-8"))
    return list(dict.fromkeys(found))
