"""The `probe` command: a thin click group; each command group lives in its own module.

Library errors (`ProbeError`) become one line on stderr and exit status 2; nothing else should
escape, and anything that does is reported in one line too (with a hint to file a bug).
"""

from __future__ import annotations

import importlib
import sys

import click

from probe import __version__
from probe.errors import ProbeError

# Modules that add commands to the group; each defines `register(group: click.Group) -> None`.
COMMAND_MODULES = (
    "probe.cli.run",
    "probe.cli.results",
    "probe.cli.classify",
    "probe.cli.lists",
    "probe.cli.lab",
    "probe.cli.control",
    "probe.cli.evidence",
    "probe.cli.daemon",
    "probe.cli.imports",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="probe")
def cli() -> None:
    """Measure internet censorship: DNS, TCP, TLS and HTTP reachability of listed sites,
    compared with an uncensored control, stored as tamper-evident evidence.

    \b
    Example:
      probe lab demo            # see it work in the built-in censorship lab (root)
      probe run --list kz       # measure the Kazakhstan list from this network
    """


def _register_all() -> None:
    for name in COMMAND_MODULES:  # a module that fails to import is a broken install: let it raise
        importlib.import_module(name).register(cli)


_register_all()


def main() -> None:
    try:
        sys.exit(cli.main(standalone_mode=False) or 0)
    except ProbeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted; finished measurements are kept", err=True)
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
