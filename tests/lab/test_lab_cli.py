"""`probe lab` on the command line: a one-line error without root, and help with examples.

Not marked `lab`: nothing here builds a network (the root check comes first).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from probe.cli.main import cli


@pytest.mark.parametrize("command", ["up", "down", "run", "demo", "demo --hub"])
def test_without_root_one_line_error(command: str) -> None:
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv is needed to drop root for this test")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    else:
        prefix = []
    proc = subprocess.run([*prefix, sys.executable, "-m", "probe", "lab", *command.split(), "--prefix", "tnoroot"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": "/tmp"})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs root" in lines[0], proc.stderr


def test_bad_prefix_is_one_line() -> None:
    result = CliRunner().invoke(cli, ["lab", "status", "--prefix", "Bad!"])
    assert result.exit_code != 0
    assert "prefix" in str(result.exception)


@pytest.mark.parametrize("command", ["up", "down", "status", "run", "demo"])
def test_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, ["lab", command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output
