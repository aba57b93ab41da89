"""Load a script of benchmarks/ as a module, so tests can check its pure parts without running it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_benchmark(filename: str) -> ModuleType:
    """benchmarks/`filename` as a module of its own (the scripts are not a package)."""
    path = REPO / "benchmarks" / filename
    spec = importlib.util.spec_from_file_location(f"benchmark_{path.stem.lstrip('_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
