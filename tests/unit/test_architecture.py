"""Imports flow one way (DESIGN.md section 2): a lower layer never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "probe"

# What each layer may import from the probe package (the stdlib and third parties are always fine).
ALLOWED = {
    "models": {"probe.models"},
    "web": {"probe.web"},  # pure helpers on pages and URLs, shared by net, control and classify
    "net": {"probe.models", "probe.net", "probe.failures", "probe.errors", "probe.addresses", "probe.web"},
    "classify": {"probe.models", "probe.classify", "probe.failures", "probe.errors", "probe.web"},
    "store": {"probe.models", "probe.store", "probe.errors", "probe.addresses"},
    "evidence": {"probe.models", "probe.evidence", "probe.store", "probe.errors", "probe.failures", "probe",
                 "probe.addresses", "probe.i18n"},
    "ooni": {"probe.models", "probe.ooni", "probe.classify", "probe.store", "probe.errors", "probe.failures",
             "probe.web"},
    # The configuration file's model and loader: no sockets (net/), no scheduling (schedule/).
    "config": {"probe.config", "probe.models", "probe.errors", "probe.store", "probe.targets"},
    # The runner hands finished measurements to a sink (probe.measure.sink.RunSink): the store is not its business.
    "measure": {"probe.models", "probe.net", "probe.measure", "probe.failures", "probe.errors", "probe",
                "probe.addresses"},
}


def test_the_shared_pure_modules_import_nothing_above_them() -> None:
    """probe.addresses (the address matcher) is pure; probe.failures may use it and nothing higher."""
    for path in (PACKAGE / "addresses").rglob("*.py"):
        assert {m for m in _probe_imports(path) if not m.startswith("probe.addresses")} == set(), path
    assert _probe_imports(PACKAGE / "failures.py") <= {"probe.addresses", "probe.errors"}
    assert _probe_imports(PACKAGE / "i18n.py") == set()  # the message catalogs: the stdlib's gettext alone


def _probe_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "probe":
            found |= {f"probe.{a.name}" if a.name != "__version__" else "probe" for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("probe"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("probe")}
    return found


def _allowed(module: str, allowed: set[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed if a != "probe") or (
        "probe" in allowed and module == "probe")


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    bad = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in _probe_imports(path):
            if not _allowed(module, ALLOWED[layer]):
                bad.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert not bad, "\n".join(bad)


def test_the_daemons_network_check_dials_nothing_itself() -> None:
    """schedule/network.py asks measure/ through one function; it opens no socket and imports no net/."""
    assert _probe_imports(PACKAGE / "schedule" / "network.py") == {"probe.measure.netcheck"}


def test_the_control_client_and_server_stay_apart() -> None:
    """The probe's client for the helper never imports the helper's server, and the server no client."""
    for side, other in (("client", "server"), ("server", "client")):
        for path in (PACKAGE / "control" / side).rglob("*.py"):
            assert not any(m.startswith(f"probe.control.{other}") for m in _probe_imports(path)), path


def test_measure_does_not_classify() -> None:
    """Measurement records; it never decides verdicts (the runner is handed a classifier)."""
    for path in (PACKAGE / "measure").rglob("*.py"):
        assert not any(m.startswith("probe.classify") for m in _probe_imports(path)), path
