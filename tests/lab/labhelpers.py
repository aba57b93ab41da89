"""Helpers for the lab tests: a lab with a prefix of its own (so a developer's lab is never touched).

Lab tests need root and the lab's servers; without them they skip with the reason. Run them
serially (they build network namespaces; each test uses its own prefix anyway).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from probe.lab.lab import Lab

SERVERS = ("ip", "iptables", "ip6tables", "nsd", "unbound", "dnsmasq", "nginx")


def lab_prefix(tag: str = "") -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"t{tag}{os.getpid() % 100000}{worker.replace('gw', 'w')}"[:10]


def skip_unless_lab_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the lab builds network namespaces and iptables rules")
    missing = [s for s in SERVERS if shutil.which(s) is None]
    if missing:
        pytest.skip(f"lab servers not installed: {', '.join(missing)} (see docs/scenarios.md)")
    try:
        import netfilterqueue  # noqa: F401
    except ImportError:
        pytest.skip("NetfilterQueue is not installed (pip install '.[lab]')")


def lab_fixture() -> Iterator[Lab]:
    skip_unless_lab_possible()
    the_lab = Lab(prefix=lab_prefix())
    try:
        yield the_lab
    finally:
        the_lab.down()


def check(lab: Lab, *args: str) -> dict[str, Any]:
    """One `probe.lab.clientcheck` call from the client namespace (plain sockets, no probe)."""
    proc = lab.client_exec([sys.executable, "-m", "probe.lab.clientcheck", *args], timeout=30)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
