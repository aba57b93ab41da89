"""Standard five-field cron expressions turned into APScheduler 3.x cron triggers.

APScheduler 3.x numbers weekdays from Monday = 0, while crontab(5) numbers them from Sunday = 0 (and
7 is Sunday again). A volunteer copying "0 9 * * 1" from any cron tutorial means Monday, so the
day-of-week field is rewritten to weekday names before APScheduler sees it. This module only builds
triggers; it knows nothing about lists or runs.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

# crontab(5) weekday numbers → names (APScheduler accepts names unambiguously).
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = ("minute", "hour", "day", "month", "day_of_week")


class CronSyntaxError(ValueError):
    """A cron expression that cannot be parsed; the message says which field and why."""


def zone(name: str) -> tzinfo:
    """A time zone by IANA name; "UTC" needs no time zone database (slim systems may lack tzdata)."""
    return UTC if name.upper() in ("UTC", "Z", "ETC/UTC") else ZoneInfo(name)


def cron_trigger(expression: str, *, timezone: tzinfo, jitter_s: float | None = None) -> CronTrigger:
    """A trigger firing like crontab(5) would for `expression` ("m h dom mon dow") in `timezone`."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronSyntaxError(f"a cron expression has 5 fields (minute hour day month weekday), "
                              f"got {len(fields)} in {expression!r}")
    values: dict[str, Any] = dict(zip(_FIELDS, fields, strict=True))
    values["day_of_week"] = _weekdays(fields[4])
    jitter = int(jitter_s) if jitter_s else None
    try:
        return CronTrigger(timezone=timezone, jitter=jitter, **values)
    except ValueError as exc:
        raise CronSyntaxError(f"bad cron expression {expression!r}: {exc}") from exc


def _weekdays(field: str) -> str:
    """The day-of-week field with crontab numbering rewritten as an explicit list of names."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        days |= _weekday_part(part.strip().lower())
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _weekday_part(part: str) -> set[int]:
    step = 1
    if "/" in part:
        part, step_text = part.split("/", 1)
        if not step_text.isdigit() or int(step_text) < 1:
            raise CronSyntaxError(f"bad step in weekday field: {step_text!r}")
        step = int(step_text)
    if part in ("*", ""):
        start, end = 0, 6
    elif "-" in part:
        first, last = part.split("-", 1)
        start, end = _weekday(first), _weekday(last)
        if end == 0 and start > 0:
            end = 7  # "5-7" / "fri-sun": a range that ends on Sunday
    else:
        start = end = _weekday(part)
        if step > 1:
            end = 6  # "1/2" means every other day starting Monday, as in crontab
    if start > end:
        raise CronSyntaxError(f"weekday range runs backwards: {part!r}")
    return {d % 7 for d in range(start, end + 1, step)}


def _weekday(token: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7 if token != "7" else 0
    if token[:3] in _DAY_NAMES and len(token) == 3:
        return _DAY_NAMES.index(token)
    raise CronSyntaxError(f"bad weekday {token!r}: use 0-7 (0 and 7 are Sunday) or sun..sat")
