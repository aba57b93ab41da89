"""`probe status --store PATH` reports on that store, not the configuration's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from probe.store import Store


def _status(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_CONFIG_HOME=str(home / "cfg"), XDG_STATE_HOME=str(home / "state"),
               PROBE_KEY=str(home / "no-key"))
    env.pop("PROBE_CONFIG", None)
    env.pop("STATE_DIRECTORY", None)
    return subprocess.run([sys.executable, "-m", "probe", "status", "--config", str(home / "config.toml"), *args],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def test_store_overrides_the_configured_store(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('store = "configured.sqlite"\n[[schedule]]\nlist = "kz"\nevery = "6h"\n',
                                          encoding="utf-8")
    other = tmp_path / "elsewhere" / "other.sqlite"
    other.parent.mkdir()
    Store.open(other).close()

    configured = _status(tmp_path, "--json")
    assert configured.returncode == 0, configured.stderr
    status = json.loads(configured.stdout)
    assert status["store"] == str(tmp_path / "configured.sqlite") and not status["store_exists"]

    chosen = _status(tmp_path, "--json", "--store", str(other))
    assert chosen.returncode == 0, chosen.stderr
    status = json.loads(chosen.stdout)
    assert status["store"] == str(other) and status["store_exists"] and status["measurements"] == 0
    assert [item["name"] for item in status["lists"]] == ["kz"]  # the schedule still comes from the config

    text = _status(tmp_path, "--store", str(other))
    assert text.returncode == 0 and f"store: {other} (0 measurements" in text.stdout
    assert not (tmp_path / "configured.sqlite").exists()
