"""deploy/: the systemd units pass `systemd-analyze verify` (and an offline security score), stay
hardened, agree with the example configuration, and the Raspberry Pi guide covers every step.

systemd-analyze checks that ExecStart's binary exists, so the units are verified as copies whose
ExecStart points at this checkout's `probe` script.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from probe.config import parse_duration

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ("probe.service", "probe-control.service", "probe-hub.service")
INSTALLED_BINARY = "/opt/probe/venv/bin/probe"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed "
                                   "(Debian package `systemd`; scripts/bootstrap --dev installs it)")


def _local_copy(unit: str, tmp_path: Path) -> Path:
    binary = Path(sys.executable).parent / "probe"
    assert binary.exists(), "the venv's probe script"
    text = (DEPLOY / unit).read_text(encoding="utf-8")
    assert INSTALLED_BINARY in text
    copy = tmp_path / unit
    copy.write_text(text.replace(INSTALLED_BINARY, str(binary)), encoding="utf-8")
    return copy


@needs_analyze
@pytest.mark.parametrize("unit", UNITS)
def test_units_pass_systemd_analyze_verify_without_a_warning(unit: str, tmp_path: Path) -> None:
    assert ANALYZE is not None
    copy = _local_copy(unit, tmp_path)
    result = subprocess.run([ANALYZE, "verify", "--man=no", str(copy)], capture_output=True, text=True,
                            timeout=60, check=False)
    # verify exits 0 on unknown keys (it only warns), so any line about the unit is a failure.
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if unit in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


@needs_analyze
@pytest.mark.parametrize("unit", UNITS)
def test_units_score_well_in_the_offline_security_review(unit: str, tmp_path: Path) -> None:
    assert ANALYZE is not None
    copy = _local_copy(unit, tmp_path)
    result = subprocess.run([ANALYZE, "security", "--offline=true", "--no-pager", str(copy)], capture_output=True,
                            text=True, timeout=60, check=False)
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout + result.stderr)
    if found is None:
        pytest.skip(f"this systemd-analyze has no offline security review: {result.stderr.strip()[:200]}")
    assert float(found.group(1)) <= 2.5, result.stdout


def _directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (DEPLOY / unit).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_probe_unit_is_unprivileged_and_hardened() -> None:
    unit = _directives("probe.service")
    expected = {"User": ["probe"], "NoNewPrivileges": ["yes"], "ProtectSystem": ["strict"], "ProtectHome": ["yes"],
                "PrivateTmp": ["yes"], "CapabilityBoundingSet": [""], "StateDirectory": ["probe"],
                "RestrictAddressFamilies": ["AF_INET AF_INET6 AF_UNIX"]}
    for key, value in expected.items():
        assert unit.get(key) == value, key
    assert unit["ExecStart"] == [f"{INSTALLED_BINARY} daemon --config /etc/probe/config.toml"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]


def test_the_stop_timeout_leaves_room_for_the_stop_grace() -> None:
    config = tomllib.loads((DEPLOY / "config.example.toml").read_text(encoding="utf-8"))
    grace = parse_duration(config["daemon"]["stop_grace"])
    assert grace + 10 <= float(_directives("probe.service")["TimeoutStopSec"][0])
    assert config["store"].startswith("/var/lib/probe/"), "the only place the unit may write"


def test_the_control_unit_gets_only_port_binding_and_its_key_as_a_credential() -> None:
    unit = _directives("probe-control.service")
    assert unit["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"] and unit["NoNewPrivileges"] == ["yes"]
    assert "--key %d/helper.key" in unit["ExecStart"][0] and "control serve" in unit["ExecStart"][0]


def test_the_guide_goes_from_a_fresh_system_to_a_running_probe() -> None:
    guide = (DEPLOY / "README.md").read_text(encoding="utf-8")
    steps = ["apt-get install", "python3 -m venv", "useradd", "probe init", "config.example.toml",
             "probe config check", "systemctl enable --now probe", "probe status", "journalctl -u probe",
             "systemd-time-wait-sync", "probe control serve", "probe-control.service"]
    missing = [s for s in steps if s not in guide]
    assert not missing, missing
