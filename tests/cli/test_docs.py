"""Docs are tested: every command has help with an example; the README's commands are CI's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from probe.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # the top-level group imports its commands lazily
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = (*prefix, name)
        found.append((path, command))
        if isinstance(command, click.Group):
            found.extend(_commands(command, path))
    return found


COMMANDS = _commands(cli)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example(path: tuple[str, ...], command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    if not isinstance(command, click.Group):
        assert "Example" in result.output, f"`probe {' '.join(path)} --help` has no example"


def test_the_core_commands_exist() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"run", "results", "show"} <= names


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.strip().splitlines()]


def test_readme_starts_with_the_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.index("```sh") < 200, "the two commands must come first"
    main_job, tests = _readme_commands()
    assert "probe lab demo" in main_job and "pytest" in tests


def test_ci_runs_the_readme_test_command_exactly() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _readme_commands()[1] in [line.strip() for line in ci]


def test_python_dash_m_probe_works() -> None:
    out = subprocess.run([sys.executable, "-m", "probe", "--version"], capture_output=True, text=True, check=True)
    assert "probe" in out.stdout
