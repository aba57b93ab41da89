"""`--help` in the volunteer's language: a click help formatter that passes help text through gettext.

Click builds help from English docstrings and `help=` strings; this formatter translates them as they
are written, so command modules keep plain English and nothing is translated at import time (the
language is chosen by `probe --lang` after import). A docstring is translated paragraph by paragraph;
an example block (a paragraph starting with click's "\\b") keeps its command lines as they are and has
only its unindented lines ("Example:") translated. Click's own "[default: ...]" suffix is kept and the
help before it translated. Not here: choosing the language (probe.i18n) or deciding what is user-facing.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Iterable

import click

from probe.i18n import _, current_language

COMMENT = re.compile(r"(?:^|\s)# (.+)$")  # an example's comment: "  probe run --list kz   # measure …"


def _example_line(line: str) -> str:
    """An indented line of an example block: the command as it is, its `# comment` translated."""
    found = COMMENT.search(line)
    if found is None:
        return line
    return line[:found.start(1)] + _(found.group(1))


def translate_paragraph(paragraph: str) -> str:
    if paragraph.startswith("\b"):
        return "\n".join(_example_line(line) if not line or line[0] in " \b" else _(line)
                         for line in paragraph.split("\n"))
    return _(paragraph)


def translate_help(text: str) -> str:
    """A cleaned docstring or help string, translated paragraph by paragraph."""
    return "\n\n".join(translate_paragraph(p) for p in text.split("\n\n"))


def _translate_extra(part: str) -> str:
    """One of click's bracketed notes after an option's help: "required", "default: 256" (the value stays)."""
    if part == "required":
        return _(part)
    if part.startswith("default: "):
        return f"{_('default:')} {part.removeprefix('default: ')}"
    return part


def translate_help_row(text: str) -> str:
    head, sep, tail = text.rpartition("  [")
    if sep and tail.endswith("]"):
        return f"{translate_help(head)}  [{'; '.join(_translate_extra(p) for p in tail[:-1].split('; '))}]"
    return translate_help(text)


class TranslatedHelpFormatter(click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix if prefix is not None else _("Usage:") + " ")

    def write_heading(self, heading: str) -> None:
        super().write_heading(_(heading))

    def write_text(self, text: str) -> None:
        super().write_text(translate_help(text))

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        translated = [(term, translate_help_row(value)) for term, value in rows]
        super().write_dl(translated, col_max, col_spacing)


class TranslatedContext(click.Context):
    formatter_class = TranslatedHelpFormatter


def _short_help(command: click.Command, limit: int = 45) -> str:
    """A subcommand's line in its group's help. Click cuts the English to `limit` characters, and a cut
    sentence is in no catalog; in another language the whole first paragraph is shown (and wrapped)."""
    first = inspect.cleandoc(command.help or "").partition("\f")[0].split("\n\n")[0]
    if command.short_help or current_language() == "en" or not first or first.startswith("\b"):
        return click.Command.get_short_help_str(command, limit)
    return first


def translate_tree(command: click.Command) -> click.Command:
    """Make `command` (and, for a group, its subcommands) format its help through the catalogs."""
    command.context_class = TranslatedContext
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            # On this instance only: the group's help asks each command for its line through this method.
            sub.get_short_help_str = functools.partial(_short_help, sub)  # type: ignore[method-assign]
            translate_tree(sub)
    return command
