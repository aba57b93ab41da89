"""scripts/bootstrap installs packages without starting host services, and puts the machine back.

The script runs for real on a copy whose policy-rc.d path points into a temporary folder, with
apt-get, dpkg-query, id and the venv's python replaced by stubs: nothing is installed, nothing is
downloaded, and the machine's own /usr/sbin/policy-rc.d is never touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REAL_POLICY = "/usr/sbin/policy-rc.d"
MACHINE_POLICY = "#!/bin/sh\n# the machine's own\nexit 0\n"

STUBS = {
    # Installed packages are the lines of $BS/installed.
    "dpkg-query": 'grep -qx "${@: -1}" "$BS/installed" 2>/dev/null && printf "install ok installed"; exit 0\n',
    "id": "echo 0\n",
    # Records what a service start would get from policy-rc.d while packages are installed.
    "apt-get": """[ "$1" = update ] && exit 0
touch "$BS/apt-started"
"$BS/policy-rc.d" nsd start; echo "policy=$?" >>"$BS/apt.log"
echo "$*" >>"$BS/apt.log"
[ -n "${APT_SLEEP:-}" ] && sleep "$APT_SLEEP"
[ -n "${APT_FAIL:-}" ] && exit 100
for arg in "$@"; do case "$arg" in -*|install) ;; *) echo "$arg" >>"$BS/installed" ;; esac; done
""",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    text = (ROOT / "scripts" / "bootstrap").read_text(encoding="utf-8")
    assert text.count(REAL_POLICY) == 1, "the policy-rc.d path is set in one place"
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "bootstrap"
    script.write_text(text.replace(REAL_POLICY, str(tmp_path / "policy-rc.d")), encoding="utf-8")
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv-ooni" / "bin").mkdir(parents=True)  # oonidata's own environment (--dev)
    ooni_python = (tmp_path / ".venv-ooni" / "bin" / "python", 'echo "$*" >>"$BS/ooni-pip.log"\n')
    for path, body in [*((stubs / n, b) for n, b in STUBS.items()), (tmp_path / ".venv" / "bin" / "python", ""),
                       ooni_python]:
        path.write_text("#!/usr/bin/env bash\n" + body, encoding="utf-8")
        path.chmod(0o755)
    return tmp_path


def _start(tree: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    environ = {"PATH": f"{tree / 'stubs'}:/usr/bin:/bin", "BS": str(tree), **env}
    return subprocess.Popen(["bash", str(tree / "scripts" / "bootstrap"), *args], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(tree: Path, *args: str, **env: str) -> tuple[int, str]:
    proc = _start(tree, *args, **env)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


def _apt_log(tree: Path) -> list[str]:
    log = tree / "apt.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


@pytest.mark.parametrize("machine_has_one", [True, False])
def test_no_service_starts_during_install_and_the_policy_is_put_back(tree: Path, machine_has_one: bool) -> None:
    policy = tree / "policy-rc.d"
    if machine_has_one:
        policy.write_text(MACHINE_POLICY, encoding="utf-8")
    code, err = _run(tree, "--dev")
    assert code == 0, err
    assert "oonidata==0.3.0" in (tree / "ooni-pip.log").read_text(encoding="utf-8")  # in .venv-ooni, not .venv
    log = _apt_log(tree)
    assert log[0] == "policy=101"
    assert {"nsd", "unbound", "nginx-light", "xxd"} <= set(log[1].split())
    if machine_has_one:
        assert policy.read_text(encoding="utf-8") == MACHINE_POLICY
    else:
        assert not policy.exists()
    assert not (tree / "policy-rc.d.bootstrap-saved").exists()
    code, err = _run(tree, "--dev")  # idempotent: everything is installed now, apt does not run again
    assert code == 0, err
    assert len(_apt_log(tree)) == 2


def test_a_failed_install_puts_the_policy_back_and_fails(tree: Path) -> None:
    (tree / "policy-rc.d").write_text(MACHINE_POLICY, encoding="utf-8")
    code, _ = _run(tree, APT_FAIL="1")
    assert code == 100
    assert _apt_log(tree)[0] == "policy=101"
    assert (tree / "policy-rc.d").read_text(encoding="utf-8") == MACHINE_POLICY
    assert not (tree / "policy-rc.d.bootstrap-saved").exists()


def test_sigterm_during_install_puts_the_policy_back(tree: Path) -> None:
    proc = _start(tree, APT_SLEEP="1")
    deadline = time.monotonic() + 20
    while not (tree / "apt-started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "apt-get never ran"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert not (tree / "policy-rc.d").exists() and not (tree / "policy-rc.d.bootstrap-saved").exists()


def test_a_run_killed_halfway_is_repaired_by_the_next(tree: Path) -> None:
    """SIGKILL leaves bootstrap's policy in place (and the machine's saved): the next run restores it."""
    ours = "#!/bin/sh\n# scripts/bootstrap: no service starts while it installs packages\nexit 101\n"
    (tree / "policy-rc.d").write_text(ours, encoding="utf-8")
    (tree / "policy-rc.d.bootstrap-saved").write_text(MACHINE_POLICY, encoding="utf-8")
    assert _run(tree)[0] == 0
    assert (tree / "policy-rc.d").read_text(encoding="utf-8") == MACHINE_POLICY
    (tree / "installed").unlink()  # again, from a machine without a policy of its own
    (tree / "policy-rc.d").write_text(ours, encoding="utf-8")
    assert _run(tree)[0] == 0
    assert not (tree / "policy-rc.d").exists() and not (tree / "policy-rc.d.bootstrap-saved").exists()
