"""Shared by the hostile suite: run the CLI in this process (fast) exactly as `probe` does, exit code included.

Not a conftest.py: tests/net imports its own conftest by that module name, and a second one here
could be the one found first.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from probe.cli.main import main

RunCli = Callable[..., tuple[int, str, str]]


def make_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """cli("results", "--store", path) → (exit code, stdout, stderr) of `probe results --store path`."""
    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["probe", *args])
        with pytest.raises(SystemExit) as exited:
            main()
        out = capsys.readouterr()
        code = exited.value.code
        return (code if isinstance(code, int) else 1), out.out, out.err
    return run
