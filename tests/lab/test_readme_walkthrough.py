"""A newcomer's first hour, as the README tells it, against the lab: the demo, then the export and verify
commands the demo prints (run exactly as printed), then the README's "Using it" commands in order.

The README's `probe run` lines need a control helper ("A real run needs a control helper"): in the lab
they run in the client namespace with the lab's flags added (`Lab.probe_args()`), nothing else changed.
`probe daemon` is the one line not run here: it is a foreground service, started and stopped by
tests/lab/test_daemon_lab.py.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from labhelpers import lab_prefix, skip_unless_lab_possible

from probe.cli.lab import DEMO_HOSTS
from probe.lab.lab import Lab

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
PROBE = f"{shlex.quote(sys.executable)} -m probe"


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    skip_unless_lab_possible()
    name = lab_prefix("r")
    yield name
    Lab(prefix=name).down()


def _using_it_commands() -> list[str]:
    """The README's "Using it" code blocks, one command a line, comments dropped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using it", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in section.split("```sh\n")[1:]:
        for line in block.split("```", 1)[0].splitlines():
            command = line.split("  #", 1)[0].strip()
            if command:
                commands.append(command)
    return commands


def _sh(command: str, cwd: Path, env: dict[str, str], input_text: str | None = None,
        lab: Lab | None = None) -> subprocess.CompletedProcess[str]:
    argv = ["bash", "-c", command]
    if lab is not None:
        return lab.client_exec(argv, timeout=300, input_text=input_text, env={**env, "PWD": str(cwd)})
    return subprocess.run(argv, cwd=cwd, env=env, input=input_text, capture_output=True, text=True,
                          timeout=300, check=False)


def test_demo_then_the_printed_commands_then_the_readme(prefix: str, tmp_path: Path) -> None:
    import os

    env = {**os.environ, "PROBE_KEY": str(tmp_path / "config" / "key"), "COLUMNS": "100"}
    home = tmp_path / "work"  # a checkout's root as the README assumes it, without touching this one's results/
    home.mkdir()
    (home / "targetlists").symlink_to(ROOT / "targetlists")

    # 1. The README's first command (after bootstrap): the demo. No key exists yet.
    demo = _sh(f"{PROBE} lab demo --prefix {prefix}", home, env)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "no signing key yet" in demo.stdout
    printed = [line.strip() for line in demo.stdout.splitlines() if line.strip().startswith(PROBE)]
    export, verify = (next(c for c in printed if f"{PROBE} {verb} " in c) for verb in ("export", "verify"))

    # 2. The two commands it printed, exactly as printed.
    exported = _sh(export, home, env)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    checked = _sh(verify, home, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r"^PASS ", checked.stdout, re.M), checked.stdout
    assert "--fingerprint" in verify and "not compared" not in checked.stdout

    # 3. The README's "Using it" commands, in order, against a lab serving the demo's sites.
    lab = Lab(prefix=prefix)
    lab.up(None, bulk_hosts=DEMO_HOSTS)
    lab_flags = " ".join(shlex.quote(a) for a in lab.probe_args() if a != "--json")
    last_id = ""
    for command in _using_it_commands():
        words = command.split()
        verb = words[1] if len(words) > 1 else ""
        line = command.replace(".venv/bin/probe", PROBE, 1)
        if verb == "daemon":
            continue  # a foreground service: see the module docstring
        if verb == "show":
            line = re.sub(r"show \S+", f"show {last_id}", line)
        if verb == "run":
            line = line.replace(f"{PROBE} run", f"{PROBE} run {lab_flags}", 1)
            proc = _sh(f"cd {shlex.quote(str(home))} && {line}", home, env, lab=lab)
        elif verb == "init":
            proc = _sh(line, home, env, input_text="y\n")
        else:
            proc = _sh(line, home, env)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        out = proc.stdout
        if verb == "run" and "--json" not in line:
            assert "measured · stored in" in out and "verdicts:" in out, out
        if verb == "results":
            assert "selftanu.kz" in out, out
            last_id = re.findall(r"│ ([0-9a-f]{8}) ", out)[-1]
        if verb == "show":
            assert last_id and "verdict" in out.lower(), out
        if verb == "verify":
            assert re.search(r"^PASS ", out, re.M), out
        if verb == "export":
            assert (home / "evidence.zip").exists()
    assert (home / "out.jsonl").stat().st_size > 0
