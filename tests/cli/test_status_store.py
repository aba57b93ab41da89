"""`probe status --store PATH` reports on that store, not the configuration's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from probe.store import Store


def _status(home: Path, *args: str, config: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`probe status`, with --config HOME/config.toml unless `config` is False (then the default place,
    HOME/cfg/probe/config.toml, which no test creates)."""
    env = dict(os.environ, XDG_CONFIG_HOME=str(home / "cfg"), XDG_STATE_HOME=str(home / "state"),
               PROBE_KEY=str(home / "no-key"))
    env.pop("PROBE_CONFIG", None)
    env.pop("STATE_DIRECTORY", None)
    chosen = ["--config", str(home / "config.toml")] if config else []
    return subprocess.run([sys.executable, "-m", "probe", "status", *chosen, *args],
                          capture_output=True, text=True, env=env, timeout=60, check=False, cwd=cwd)


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


def test_store_alone_works_without_any_configuration(tmp_path: Path) -> None:
    store = tmp_path / "copy.sqlite"
    Store.open(store).close()
    default = tmp_path / "cfg" / "probe" / "config.toml"

    result = _status(tmp_path, "--json", "--store", str(store), config=False)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["store"] == str(store) and status["store_exists"] and status["measurements"] == 0
    assert status["lists"] == [] and status["config"] == f"none (no configuration file at {default})"

    text = _status(tmp_path, "--store", str(store), config=False)
    assert text.returncode == 0, text.stderr
    assert f"store: {store} (0 measurements" in text.stdout and "schedule: no configuration" in text.stdout


def test_a_missing_config_is_still_an_error(tmp_path: Path) -> None:
    store = tmp_path / "copy.sqlite"
    Store.open(store).close()
    explicit = _status(tmp_path, "--store", str(store))  # --config HOME/config.toml, which does not exist
    assert explicit.returncode != 0 and "no configuration file at" in explicit.stderr
    assert str(tmp_path / "config.toml") in explicit.stderr



def test_without_configuration_or_store_it_reports_on_the_default_store(tmp_path: Path) -> None:
    """A volunteer who only ever ran `probe run` by hand (the README's order): their store is
    results/probe.sqlite where they ran it, and there is no schedule to show."""
    (tmp_path / "results").mkdir()
    Store.open(tmp_path / "results" / "probe.sqlite").close()
    result = _status(tmp_path, config=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "store: results/probe.sqlite (0 measurements" in result.stdout
    assert "schedule: no configuration" in result.stdout
