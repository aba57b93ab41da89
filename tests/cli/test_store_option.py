"""One --store for every command: not given, it is the daemon's store when a configuration file
exists (so `probe run`, `probe results`, `probe export` and `probe status` mean the store the daemon
fills), else results/probe.sqlite. A tiny command with the shared decorator, run by click's runner."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from probe.cli.daemon import config_option
from probe.cli.options import store_option


@click.command()
@store_option
def plain(store_path: Path) -> None:
    click.echo(str(store_path))


@click.command()
@store_option
@config_option  # declared after --store, read first: --config is eager
def with_config(store_path: Path, config_path: Path | None) -> None:
    click.echo(str(store_path))


@click.command()
@store_option(alone=True, help="Check the store.")
def alone(store_path: Path | None) -> None:
    click.echo(str(store_path))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.delenv("PROBE_CONFIG", raising=False)
    return tmp_path


def _config(path: Path, store: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'store = "{store}"\n[[schedule]]\nlist = "kz"\nevery = "1h"\n', encoding="utf-8")
    return path


def test_without_a_configuration_file_the_store_is_results_probe_sqlite(home: Path) -> None:
    assert CliRunner().invoke(plain, []).output.strip() == "results/probe.sqlite"
    assert CliRunner().invoke(plain, ["--store", "x.sqlite"]).output.strip() == "x.sqlite"


def test_with_a_configuration_file_every_command_means_the_daemons_store(home: Path) -> None:
    _config(home / "cfg" / "probe" / "config.toml", home / "state" / "daemon.sqlite")
    assert CliRunner().invoke(plain, []).output.strip() == str(home / "state" / "daemon.sqlite")
    other = _config(home / "other.toml", home / "elsewhere.sqlite")
    assert CliRunner().invoke(with_config, ["--config", str(other)]).output.strip() == str(home / "elsewhere.sqlite")
    assert CliRunner().invoke(plain, [], env={"PROBE_CONFIG": str(other)}).output.strip() == str(
        home / "elsewhere.sqlite")


def test_a_bare_store_flag_means_the_default_store_and_no_flag_none(home: Path) -> None:
    assert CliRunner().invoke(alone, []).output.strip() == "None"
    assert CliRunner().invoke(alone, ["--store"]).output.strip() == "results/probe.sqlite"
    assert CliRunner().invoke(alone, ["--store", "a.sqlite"]).output.strip() == "a.sqlite"
