"""The hub's settings: the configuration file's [hub] section, defined with the rest of the file's shape
(probe.config.hub) so that either package can be imported first."""

from __future__ import annotations

from probe.config.hub import HubSettings, split_listen

__all__ = ["HubSettings", "split_listen"]
