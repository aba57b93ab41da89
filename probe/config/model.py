"""The configuration file's shape: typed, frozen, and strict about unknown keys.

    store, key             where evidence goes and which key signs it
    [measure]              the engine's MeasureSettings (timeouts, parallel, controls, DoH, ...)
    [daemon]               time zone for cron, stop grace, misfire and network-down backoff policy
    [retention]            how long artifact bytes are kept
    [hub]                  the hub's settings, for `probe hub serve` on the hub host (probe.hub.settings)
    [[schedule]]           one entry per list: cron or every, jitter, category filter, enabled

This module checks what can be checked from the text alone (durations, cron syntax, time zones,
unique names). Checks that look at the disk (does the list exist?) live in `probe.config.load`.
"""

from __future__ import annotations

import ipaddress
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from probe.config.cron import CronSyntaxError, cron_trigger, zone
from probe.config.durations import Duration
from probe.config.hub import HubSettings
from probe.models.base import Frozen
from probe.models.settings import MeasureSettings, split_resolver

MIN_INTERVAL_S = 10.0  # short intervals exist for tests and the lab; a real probe runs hourly or less
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class ScheduleEntry(Frozen):
    list: str  # a shipped list name ("kz", "article15") or a path to a CSV file
    name: str | None = None  # unique; defaults to the list's name; used in logs, status and the runs table
    category: str | None = None  # only these category codes, comma-separated ("LGBT,HUMR")
    cron: str | None = None  # five-field crontab expression, in [daemon].timezone
    every: Duration | None = None  # or a fixed interval: "6h", "30m"
    jitter: Duration | None = None  # random delay added to each run; default: a tenth of the period, ≤ 5m
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                trigger = cron_trigger(value, timezone=zone("UTC"))
            except CronSyntaxError as exc:
                raise ValueError(str(exc)) from exc
            # "0 0 30 2 *" parses but never comes: a daemon that would wait for ever, saying nothing.
            if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
                raise ValueError(f"{value!r} never fires (no such date, e.g. 30 February)")
        return value

    @field_validator("every")
    @classmethod
    def _not_too_often(cls, value: float | None) -> float | None:
        if value is not None and value < MIN_INTERVAL_S:
            raise ValueError(f"must be at least {MIN_INTERVAL_S:g}s")
        return value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is not None and (not value or set(value) - NAME_CHARS):
            raise ValueError(f"{value!r}: use only letters, digits, '-', '_' and '.'")
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> ScheduleEntry:
        if (self.cron is None) == (self.every is None):
            raise ValueError('give exactly one of cron = "0 */6 * * *" or every = "6h"')
        return self

    @property
    def key(self) -> str:
        """The entry's name: the one given, else the list's file stem ("kz" for "lists/kz.csv")."""
        return self.name or Path(self.list).stem


class DaemonSettings(Frozen):
    timezone: str = "UTC"  # cron expressions are read in this zone, e.g. "Asia/Almaty"
    stop_grace: Duration = Field(default="30s", validate_default=True)
    misfire_grace: Duration = Field(default="1d", validate_default=True)
    backoff_initial: Duration = Field(default="1m", validate_default=True)
    backoff_max: Duration = Field(default="30m", validate_default=True)
    preflight_timeout: Duration = Field(default="5s", validate_default=True)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (write e.g. \"UTC\" or \"Asia/Almaty\")") from exc
        return value

    @model_validator(mode="after")
    def _backoff_order(self) -> DaemonSettings:
        if self.backoff_initial <= 0 or self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_initial must be > 0 and backoff_max ≥ backoff_initial")
        return self


class Retention(Frozen):
    artifacts_days: int | None = Field(default=None, ge=1, le=36500)  # None: keep artifact bytes forever


class ProbeConfig(Frozen):
    store: Path | None = None  # filled in by the loader: the state directory's probe.sqlite
    key: Path | None = None  # None: the key `probe init` made (or unsigned when there is none)
    measure: MeasureSettings = MeasureSettings()
    daemon: DaemonSettings = DaemonSettings()
    retention: Retention = Retention()
    hub: HubSettings = HubSettings()
    schedule: list[ScheduleEntry] = []

    @model_validator(mode="after")
    def _unique_names(self) -> ProbeConfig:
        seen: dict[str, int] = {}
        for index, entry in enumerate(self.schedule):
            if entry.key in seen:
                raise ValueError(f"schedule[{index}] and schedule[{seen[entry.key]}] are both named "
                                 f"{entry.key!r}: give each entry its own name = \"...\"")
            seen[entry.key] = index
        return self

    def entry(self, name: str) -> ScheduleEntry | None:
        return next((e for e in self.schedule if e.key == name), None)



def check_measure(measure: MeasureSettings) -> None:
    """Addresses the engine would only reject mid-run: ValueError "key: problem" for the first bad one."""
    if measure.resolver is not None:
        try:
            host, port = split_resolver(measure.resolver)
            ipaddress.ip_address(host)
        except ValueError as exc:
            raise ValueError(f"resolver: {measure.resolver!r} must be an IP address (optionally with :port), "
                             "not a name") from exc
        if not 0 < port < 65536:
            raise ValueError(f"resolver: {measure.resolver!r} has a bad port")
    urls = [("control_urls", u) for u in measure.control_urls] + [("doh_url", u) for u in [measure.doh_url] if u]
    for key, url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{key}: {url!r} is not an http(s) URL")
