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

from probe.i18n import N_, _, current_language

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


_EXTRA = re.compile(r"Got unexpected extra arguments? \((.*)\)$")
_COMMAND = re.compile(r"No such command '(.*)'\.$")


def usage_error_text(exc: click.UsageError) -> str:
    """What click's UsageError.show prints (usage, where help is, the error), in the volunteer's language.

    Click's own messages go through the stdlib's global gettext domain, which this probe leaves alone;
    the kinds a volunteer meets (an unknown option or command, a missing or invalid value, an extra
    argument) are rebuilt here from the exception's public attributes. Any other keeps click's English.
    """
    lines = []
    ctx = exc.ctx
    if ctx is not None:
        lines.append(ctx.get_usage())
        if ctx.command.get_help_option(ctx) is not None:
            option = max(ctx.command.get_help_option_names(ctx), key=len)
            lines.append(_("Try '{command} {option}' for help.").format(command=ctx.command_path, option=option))
        lines.append("")
    lines.append(_("Error: {message}").format(message=_usage_message(exc)))
    return "\n".join(lines)


def _param_hint(exc: click.MissingParameter | click.BadParameter) -> str:
    hint = exc.param_hint if exc.param_hint is not None else (
        exc.param.get_error_hint(exc.ctx) if exc.param is not None and exc.ctx is not None else "")
    return hint if isinstance(hint, str) else " / ".join(repr(h) for h in hint)


_REASONS = (  # the reasons of click's parameter types a volunteer meets; any other stays click's English
    (re.compile(r"(?P<value>'.*') is not a valid (?:integer|float|number)\.$"), N_("{value} is not a valid number.")),
    (re.compile(r"(?P<value>.*) is not in the range (?P<range>.*)\.$"), N_("{value} is not in the range {range}.")),
    (re.compile(r"(?P<value>'.*') is not one of (?P<choices>.*)\.$"), N_("{value} is not one of {choices}.")),
    (re.compile(r"(?:File|Directory|Path) (?P<path>'.*') does not exist\.$"), N_("{path} does not exist.")),
)


def _reason(message: str) -> str:
    for pattern, text in _REASONS:
        if found := pattern.match(message):
            return _(text).format(**found.groupdict())
    return message


def _usage_message(exc: click.UsageError) -> str:
    if current_language() == "en":
        return exc.format_message()  # click's own English, word for word
    if isinstance(exc, click.NoSuchOption):
        text = _("No such option: {name}").format(name=exc.option_name)
        possible = sorted(exc.possibilities or [])
        if len(possible) == 1:
            text += " " + _("Did you mean {name}?").format(name=possible[0])
        elif possible:
            text += " " + _("(Possible options: {names})").format(names=", ".join(possible))
        return text
    if isinstance(exc, click.MissingParameter):
        kind = exc.param_type or (exc.param.param_type_name if exc.param is not None else "parameter")
        missing = {"argument": _("Missing argument {name}."), "option": _("Missing option {name}.")}
        return missing.get(kind, _("Missing parameter {name}.")).format(name=_param_hint(exc))
    if isinstance(exc, click.BadParameter):
        return _("Invalid value for {name}: {reason}").format(name=_param_hint(exc), reason=_reason(exc.message))
    if found := _EXTRA.match(exc.message):
        return _("Got unexpected extra arguments ({arguments})").format(arguments=found.group(1))
    if found := _COMMAND.match(exc.message):
        return _("No such command '{name}'.").format(name=found.group(1))
    return exc.format_message()
