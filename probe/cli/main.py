"""The `probe` command: a thin click group; each command group lives in its own module.

Library errors (`ProbeError`) become one line on stderr and exit status 2; nothing else should
escape, and anything that does is reported in one line too (with a hint to file a bug).
"""

from __future__ import annotations

import importlib
import sys

import click

from probe import __version__
from probe.cli.fit import shorten_end
from probe.cli.help_i18n import TranslatedContext, translate_tree, usage_error_text
from probe.errors import ProbeError
from probe.i18n import LANGUAGES, _, set_language

# Every command: its module, the click object's name there, and its one-line help. The group imports a
# command's module only when that command runs (or its own --help is asked), so `probe --version` and
# `probe --help` import click alone instead of the whole measurement engine (about 2 s on a Pi-class
# CPU). tests/cli/test_main_cli.py checks this table against the commands themselves, so it cannot drift.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("probe.cli.run", "run_command",
            "Measure URLs (or a list) over DNS, TCP, TLS and HTTP, compare with a control, store the evidence."),
    "results": ("probe.cli.results", "results_command",
                "List stored measurements, newest last (the newest 200 unless --limit says otherwise)."),
    "show": ("probe.cli.results", "show_command",
             "Print one stored measurement in full: every observation, the control, the verdict and its reasons."),
    "reclassify": ("probe.cli.classify", "reclassify",
                   "Re-run classification over stored measurements, keeping their observations untouched."),
    "lists": ("probe.cli.lists", "lists", "Check and edit target lists (Citizen Lab CSV format)."),
    "lab": ("probe.cli.lab", "lab_group",
            "The censorship lab: a censoring ISP, its resolver and real servers in network namespaces (root)."),
    "control": ("probe.cli.control", "control_group",
                "The control helper: an uncensored vantage that measures the same URL for comparison."),
    "init": ("probe.cli.evidence", "init_command",
             "Explain what running a probe may reveal, then make this probe's signing key."),
    "key": ("probe.cli.evidence", "key_group", "The probe's signing key."),
    "export": ("probe.cli.evidence", "export_command",
               "Write a signed evidence bundle: measurements, artifacts, OONI JSONL, report and how to verify it."),
    "verify": ("probe.cli.evidence", "verify_command",
               "Check a bundle (offline, from the bundle alone) or the local store: hashes, chain, signatures."),
    "report": ("probe.cli.evidence", "report_command",
               "Write a self-contained HTML report for advocates: networks, timelines, techniques, evidence."),
    "daemon": ("probe.cli.daemon", "daemon_command",
               "Run the scheduled probe in the foreground (for systemd): measure each list on its schedule."),
    "status": ("probe.cli.daemon", "status_command",
               "Show whether the daemon runs, each list's next runs and last run (with counts), and store size."),
    "config": ("probe.cli.daemon", "config_group", "Check the configuration file."),
    "prune": ("probe.cli.daemon", "prune_command",
              "Prune old artifacts, keeping every measurement and hash (the chain still verifies)."),
    "hub": ("probe.cli.hub", "hub_group",
            "The hub: a collector many probes upload signed evidence to (PostgreSQL)."),
    "upload": ("probe.cli.hub", "upload_command",
               "Send every hub this probe joined the signed measurements it has not acknowledged yet."),
    "import": ("probe.cli.imports", "import_group",
               "Bring measurements made by others into the store (kept apart from ours, never signed as ours)."),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported when used; its own help lists them from COMMANDS.

    Its help, and that of every command it hands out, is formatted in the volunteer's language.
    """

    context_class = TranslatedContext

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _help = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), f"{module}.{attribute} is not a click command"
        return translate_tree(command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, shorten_end(_(COMMANDS[name][2]), limit)) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="probe")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None, is_eager=True, expose_value=False,
              callback=lambda _ctx, _param, value: set_language(value),
              help="Language of messages, help and consent (default: from LANGUAGE, LC_ALL, LC_MESSAGES or "
                   "LANG, e.g. ru_KZ.UTF-8; else English).")
def cli() -> None:
    """Measure internet censorship: DNS, TCP, TLS and HTTP reachability of listed sites,
    compared with an uncensored control, stored as tamper-evident evidence.

    \b
    Example:
      probe lab demo            # see it work in the built-in censorship lab (root)
      probe run --list kz       # measure the Kazakhstan list from this network
    """


def main() -> None:
    try:
        sys.exit(cli.main(standalone_mode=False) or 0)
    except ProbeError as exc:
        click.echo(_("error: {message}").format(message=exc), err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo(_("aborted"), err=True)
        sys.exit(130)
    except click.UsageError as exc:
        click.echo(usage_error_text(exc), err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo(_("interrupted; finished measurements are kept"), err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback to a user
        click.echo(f"error: internal error: {type(exc).__name__}: {exc} "
                   "(please report this; run with PROBE_DEBUG=1 for details)", err=True)
        import os
        if os.environ.get("PROBE_DEBUG"):
            raise
        sys.exit(70)
