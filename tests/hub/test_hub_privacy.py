"""Where a volunteer connects from is what a censor would want: the hub's code never reads it.

Static checks over probe/hub (the running hub's log and schema are checked in test_hub_faults).
"""

from __future__ import annotations

import ast
from pathlib import Path

from probe.hub.server import _options
from probe.hub.settings import HubSettings

HUB = Path(__file__).resolve().parents[2] / "probe" / "hub"


def test_no_hub_module_reads_the_clients_address() -> None:
    found = []
    for path in sorted(HUB.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("client", "remote_addr", "peername"):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.Constant) and node.value in ("client", "x-forwarded-for", "x-real-ip", "peername"):
                found.append(f"{path.name}:{node.lineno} {node.value!r}")
    assert not found, found


def test_uvicorn_runs_without_access_log_or_proxy_headers() -> None:
    options = _options(HubSettings())
    assert options["access_log"] is False and options["proxy_headers"] is False
