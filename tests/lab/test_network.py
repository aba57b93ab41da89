"""The lab network: builds in seconds, is idempotent, leaves nothing behind (also after SIGKILL),
has no way out, and two labs coexist."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from labhelpers import check, lab_prefix, skip_unless_lab_possible

from probe.errors import LabError
from probe.lab.lab import Lab
from probe.lab.netns import list_namespaces
from probe.lab.scenario import Scenario

pytestmark = pytest.mark.lab

OK = Scenario.model_validate({"name": "ok", "url": "https://selftanu.kz/", "expect": {"verdict": "ok"}})


def _root_routes() -> str:
    return subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout + \
        subprocess.run(["ip", "-6", "route"], capture_output=True, text=True, check=True).stdout


def _lab_processes(lab: Lab) -> list[int]:
    """Processes whose command line names this lab's state dir (every server we start does)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if str(lab.state).encode() in cmdline:
                found.append(int(proc.name))
    return found


def assert_nothing_left(lab: Lab) -> None:
    assert list_namespaces(lab.prefix) == []
    assert not any(Path("/etc/netns").glob(f"{lab.prefix}-*")) if Path("/etc/netns").exists() else True
    assert not lab.state.exists()
    assert not (lab.state.parent / f".{lab.prefix}.lock").exists()
    deadline = time.monotonic() + 3  # killed servers may take a moment to be reaped
    while _lab_processes(lab) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _lab_processes(lab) == []


def test_up_is_fast_idempotent_and_down_leaves_nothing() -> None:
    skip_unless_lab_possible()
    lab = Lab(prefix=lab_prefix("u"))
    routes_before = _root_routes()
    try:
        t0 = time.monotonic()
        lab.up(OK)
        assert time.monotonic() - t0 < 10
        lab.up(OK)  # again: tears down and rebuilds, no "already exists"
        status = lab.status()
        assert status.up and status.scenario == "ok" and len(status.namespaces) == 4
        assert check(lab, "tcp", "198.18.1.2", "443")["ok"]
        assert _root_routes() == routes_before  # nothing added to the host's routing
    finally:
        lab.down()
    lab.down()  # idempotent
    assert_nothing_left(lab)
    assert not lab.status().up


def test_client_has_no_route_out_of_the_lab(lab: Lab) -> None:
    lab.up(OK)
    # TEST-NET-1 is not a lab range: the client has no route, so nothing is even sent.
    result = check(lab, "tcp", "192.0.2.1", "443")
    assert result["failure"] == "ENETUNREACH" and result["t"] < 0.5


@pytest.mark.parametrize("during_up", [True, False], ids=["during-up", "after-up"])
def test_down_cleans_up_after_sigkill(during_up: bool) -> None:
    skip_unless_lab_possible()
    lab = Lab(prefix=lab_prefix("k"))
    code = ("from probe.lab.lab import Lab; from probe.lab.scenario import Scenario; "
            f"s = Scenario.model_validate({OK.model_dump(exclude={'path'})!r}); "
            f"Lab(prefix={lab.prefix!r}).up(s); print('up', flush=True); import time; time.sleep(60)")
    builder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        if during_up:  # kill as soon as the first namespace exists: a half-built lab
            deadline = time.monotonic() + 10
            while not list_namespaces(lab.prefix) and time.monotonic() < deadline:
                time.sleep(0.005)
        else:
            assert builder.stdout is not None and builder.stdout.readline().strip() == "up"
    finally:
        builder.kill()  # SIGKILL: no cleanup code runs
        builder.wait()
    lab.down()
    assert_nothing_left(lab)


def test_two_labs_coexist(lab: Lab) -> None:
    other = Lab(prefix=lab_prefix("o"))
    try:
        lab.up(OK)
        other.up(OK)
        assert check(lab, "tcp", "198.18.1.2", "443")["ok"]
        assert check(other, "tcp", "198.18.1.2", "443")["ok"]
        other.down()
        assert check(lab, "tcp", "198.18.1.2", "443")["ok"]  # the first lab is untouched
    finally:
        other.down()


def test_bad_prefix_is_refused() -> None:
    with pytest.raises(LabError, match="prefix"):
        Lab(prefix="Bad-Prefix!")
