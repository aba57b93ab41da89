"""The `probe` group itself: every command is listed, imported only when used, and its help line is its own."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from probe.cli import main


def test_the_table_names_every_command_with_its_own_first_help_line() -> None:
    for name, (module, attribute, help_line) in main.COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command) and command.name == name
        assert command.get_short_help_str(limit=1000) == help_line, f"COMMANDS[{name!r}] drifted from its --help"


def test_every_top_level_command_in_the_cli_modules_is_in_the_table() -> None:
    listed = {(module, attribute) for module, attribute, _ in main.COMMANDS.values()}
    for module in {m for m, _, _ in main.COMMANDS.values()}:
        mod = importlib.import_module(module)
        commands = {a: v for a, v in vars(mod).items() if isinstance(v, click.Command)}
        nested = {id(c) for v in commands.values() if isinstance(v, click.Group) for c in v.commands.values()}
        for attribute, command in commands.items():
            assert id(command) in nested or (module, attribute) in listed, f"{module}.{attribute} is not in probe"


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main.cli, ["--help"])
    assert result.exit_code == 0
    for name in main.COMMANDS:
        assert f"  {name} " in result.output


def test_version_and_help_import_no_command_module() -> None:
    code = ("import sys\nfrom probe.cli.main import cli\n"
            "try:\n    cli.main(['--version'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "cli.main(['--help'], standalone_mode=False)\n"
            "heavy = sorted(m for m in sys.modules if m.startswith(('probe.measure', 'probe.store', 'probe.net', "
            "'pydantic', 'httpx', 'rich', 'cryptography', 'dns')) or m in {'probe.cli.run', 'probe.cli.lab'})\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stderr, proc.stderr


# What a command's --help must not import: the engine, the store, the servers and their libraries.
HEAVY_PREFIXES = ("probe.measure", "probe.store", "probe.net", "probe.models", "probe.control.server", "probe.hub.",
                  "probe.evidence", "probe.classify", "probe.lab.", "pydantic", "httpx", "rich", "cryptography",
                  "dns", "uvicorn", "starlette", "psycopg", "apscheduler")


@pytest.mark.parametrize("command", sorted(main.COMMANDS))
def test_a_command_help_reads_only_its_options(command: str) -> None:
    """`probe COMMAND --help` builds the command, never what it runs: `probe run --help` answered in
    0.7 s when run.py imported the engine at the top, 0.1 s since (benchmarks/startup.py)."""
    code = ("import sys\nfrom probe.cli.main import cli\n"
            f"try:\n    cli.main([{command!r}, '--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "names = {'.'.join(m.split('.')[:2 if m.startswith('probe.') else 1]) for m in sys.modules}\n"
            f"heavy = sorted(m for m in names if m.startswith({HEAVY_PREFIXES!r}))\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    assert "HEAVY []" in proc.stderr, proc.stderr


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main.cli, ["no-such-command"])
    assert result.exit_code == 2 and "No such command" in result.output


def test_a_command_module_that_fails_to_import_is_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(main.COMMANDS, "broken", ("probe.cli.no_such_module", "command", "Broken."))
    with pytest.raises(ModuleNotFoundError, match="probe.cli.no_such_module"):
        main.cli.main(["broken"], standalone_mode=False)
