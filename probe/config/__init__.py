"""The probe's configuration file (TOML): what the daemon measures, when, with which settings.

    load_config(path=None) -> ProbeConfig      validated; ConfigError naming file and key
    default_config_path() -> Path              $XDG_CONFIG_HOME/probe/config.toml
    render_config(config) -> str               the effective configuration, as TOML

Modules: model (the pydantic shape), durations ("6h" ↔ seconds), load (file → model, path and list
checks), render (model → TOML). The file is documented, with a full example, in docs/configuration.md.
"""

from __future__ import annotations

from probe.config.durations import format_duration, parse_duration
from probe.config.load import default_config_path, default_store, default_store_path, load_config
from probe.config.model import DaemonSettings, ProbeConfig, Retention, ScheduleEntry
from probe.config.render import render_config

__all__ = [
    "DaemonSettings",
    "ProbeConfig",
    "Retention",
    "ScheduleEntry",
    "default_config_path",
    "default_store",
    "default_store_path",
    "format_duration",
    "load_config",
    "parse_duration",
    "render_config",
]
