"""The configuration file: every mistake is one ConfigError naming the file and the key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from probe.config import (
    DaemonSettings,
    ProbeConfig,
    Retention,
    ScheduleEntry,
    default_config_path,
    default_store_path,
    format_duration,
    load_config,
    parse_duration,
    render_config,
)
from probe.errors import ConfigError
from probe.hub.settings import HubSettings
from probe.models.settings import MeasureSettings, Timeouts
from probe.targets import resolve_list

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") or str(path) in message
    assert "\n" not in message, "one line"
    return message


def _docs_example() -> str:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, flags=re.S)
    assert blocks, "docs/configuration.md has a full TOML example"
    return str(max(blocks, key=len))


def test_the_documented_full_example_is_valid_and_sets_every_section(tmp_path: Path) -> None:
    # Its paths (/etc/probe/..., /var/lib/probe/...) exist on a deployed probe, not here; the lists do.
    config = load_config(_write(tmp_path, _docs_example()), check_files=False)
    for entry in config.schedule:
        if entry.enabled:
            resolve_list(entry.list)
    data = tomllib.loads(_docs_example())
    assert {"store", "key", "measure", "daemon", "retention", "schedule"} <= set(data)
    assert {"control_urls", "doh_url", "asn_db", "decoy_sni", "body_cap_bytes", "timeouts", "parallel"} \
        <= set(data["measure"])
    assert config.schedule and config.retention.artifacts_days


def test_every_key_is_documented() -> None:
    """docs/configuration.md explains each key the file accepts."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    models: list[type[BaseModel]] = [ProbeConfig, MeasureSettings, Timeouts, DaemonSettings, Retention, ScheduleEntry,
                                     HubSettings]
    for model in models:
        for name in model.model_fields:
            assert f"`{name}`" in text, f"docs/configuration.md does not explain `{name}`"


def test_the_shipped_example_config_is_valid(tmp_path: Path) -> None:
    text = (ROOT / "deploy" / "config.example.toml").read_text(encoding="utf-8")
    config = load_config(_write(tmp_path, text), check_files=False)
    for entry in config.schedule:
        resolve_list(entry.list)
    assert config.store == Path("/var/lib/probe/probe.sqlite")
    assert all(e.enabled for e in config.schedule)


@pytest.mark.parametrize(("text", "expected"), [
    ("colour = 1\n", "colour: unknown key (known keys: daemon, hub, key, measure"),
    ("[measure]\nparalel = 3\n", "measure.paralel: unknown key"),
    ("[measure.timeouts]\ndns = 3\n", "measure.timeouts.dns: unknown key (known keys: dns_s"),
    ('[[schedule]]\nlist = "kz"\nevry = "1h"\n', "schedule[0].evry: unknown key"),
    ("[retention]\ndays = 3\n", "retention.days: unknown key (known keys: artifacts_days)"),
    ('[daemon]\nstop = "1s"\n', "daemon.stop: unknown key"),
])
def test_unknown_keys_are_errors_that_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


@pytest.mark.parametrize(("schedule", "expected"), [
    ('cron = "0 */6 * *"', "schedule[0].cron: a cron expression has 5 fields"),
    ('cron = "0 61 * * *"', "schedule[0].cron: bad cron expression"),
    ('cron = "0 6 * * 9"', "schedule[0].cron: bad weekday '9'"),
    ('every = "5s"', "schedule[0].every: must be at least 10s"),
    ("every = 6", 'schedule[0].every: write a duration with its unit'),
    ('every = "six hours"', "schedule[0].every: 'six hours' is not a duration"),
    ('every = "6h"\ncron = "0 * * * *"', "schedule[0]: give exactly one of"),
    ("enabled = true", "schedule[0]: give exactly one of"),
    ('every = "6h"\nname = "my list"', "schedule[0].name"),
])
def test_bad_triggers_are_one_clear_message(tmp_path: Path, schedule: str, expected: str) -> None:
    assert expected in _error(tmp_path, f'[[schedule]]\nlist = "kz"\n{schedule}\n')


def test_a_missing_list_is_named_with_the_shipped_choices(tmp_path: Path) -> None:
    message = _error(tmp_path, '[[schedule]]\nlist = "kazakhstan"\nevery = "6h"\n')
    assert "schedule[0] (kazakhstan): no list file or shipped list named 'kazakhstan'" in message
    assert "kz" in message  # the hint lists the shipped names


def test_an_unknown_category_is_named(tmp_path: Path) -> None:
    message = _error(tmp_path, '[[schedule]]\nlist = "kz"\nevery = "6h"\ncategory = "LGBT,GAYL"\n')
    assert "schedule[0] (kz): unknown category code(s): GAYL" in message and "now LGBT" in message


@pytest.mark.parametrize(("text", "expected"), [
    ('[measure]\nresolver = "dns.google"\n', "measure.resolver: the resolver must be an IP address"),
    ('[measure]\ncontrol_urls = ["ftp://x/"]\n', "measure.control_urls: 'ftp://x/' is not an http(s) URL"),
    ('[measure]\nparallel = 0\n', "measure.parallel: Input should be greater than or equal to 1"),
    ('[daemon]\ntimezone = "Mars/Olympus"\n', "daemon.timezone: unknown time zone 'Mars/Olympus'"),
    ('[retention]\nartifacts_days = 0\n', "retention.artifacts_days"),
    ('key = "nokey.pem"\n', "key: no key file at"),
    ("x = [\n", "not valid TOML"),
])
def test_other_mistakes_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in _error(tmp_path, text)


def test_two_entries_with_one_name_are_an_error(tmp_path: Path) -> None:
    text = '[[schedule]]\nlist = "kz"\nevery = "6h"\n[[schedule]]\nlist = "kz"\ncron = "0 3 * * *"\n'
    assert "both named 'kz'" in _error(tmp_path, text)
    ok = text + 'name = "kz-nightly"\n'
    assert [e.key for e in load_config(_write(tmp_path, ok)).schedule] == ["kz", "kz-nightly"]


def test_a_missing_file_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no configuration file at .*nope.toml"):
        load_config(tmp_path / "nope.toml")


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "mine.csv").write_text("url\nhttps://example.org/\n", encoding="utf-8")
    (tmp_path / "roots.pem").write_text("x", encoding="utf-8")
    path = _write(tmp_path, 'store = "data/probe.sqlite"\n[measure]\nca_bundle = "roots.pem"\n'
                            '[[schedule]]\nlist = "lists/mine.csv"\nevery = "1h"\n')
    config = load_config(path)
    assert config.store == tmp_path / "data" / "probe.sqlite"
    assert config.measure.ca_bundle == tmp_path / "roots.pem"
    assert config.schedule[0].list == str(tmp_path / "lists" / "mine.csv")
    assert config.schedule[0].key == "mine"


def test_default_locations_follow_xdg_and_systemd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    assert default_config_path() == tmp_path / "cfg" / "probe" / "config.toml"
    assert default_store_path() == tmp_path / "state" / "probe" / "probe.sqlite"
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/probe")
    assert default_store_path() == Path("/var/lib/probe/probe.sqlite")


@pytest.mark.parametrize(("text", "seconds", "canonical"), [
    ("10s", 10, "10s"), ("30m", 1800, "30m"), ("6h", 21600, "6h"), ("1d", 86400, "1d"),
    ("1h30m", 5400, "1h30m"), ("90m", 5400, "1h30m"), ("1w", 604800, "1w"), ("0.5s", 0.5, "0.5s"),
])
def test_durations_read_and_print_like_a_person_writes_them(text: str, seconds: float, canonical: str) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == canonical


def test_the_effective_configuration_is_itself_a_valid_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, _docs_example()), check_files=False)
    rendered = render_config(config)
    assert "stop_grace = " in rendered and "[measure.timeouts]" in rendered  # defaults are shown
    again = ProbeConfig.model_validate(tomllib.loads(rendered))
    assert again == config
