"""Human durations in the configuration file: "10s", "30m", "6h", "1d", "1w", or "1h30m".

Parsing gives seconds (float); formatting gives back the shortest exact spelling, so the effective
configuration printed by `probe config check` reads like what a person would write.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# ASCII digits only (Python's \d also matches Arabic-Indic and other digits), each unit at most once
# and largest first: "1m1m1m" is a typo, not 3m, and "30m1h" is probably one too.
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)([wdhms])", re.ASCII)
_WHOLE = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?[wdhms])+", re.ASCII)
MAX_DURATION_S = 366 * 86400  # a year: longer is a typo, and timedelta/APScheduler overflow far beyond it


def parse_duration(value: object) -> float:
    """Seconds in a duration string; ValueError (with an example) for anything else."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError('write a duration as a string like "30m", "6h" or "1d"')
    if isinstance(value, int | float):
        raise ValueError(f'write a duration with its unit, e.g. "{value}s" or "{value}m"')
    text = value.strip().lower().replace(" ", "")
    if len(text) > 64 or not _WHOLE.fullmatch(text):
        raise ValueError(f'{value[:64]!r} is not a duration: write e.g. "10s", "30m", "6h", "1d" or "1h30m"')
    parts = _PART.findall(text)
    units = [u for _, u in parts]
    if units != sorted(set(units), key=list(_UNITS).index):
        raise ValueError(f'{value!r}: give each unit once, largest first, e.g. "1h30m"')
    seconds = float(sum(float(n) * _UNITS[u] for n, u in parts))
    if seconds > MAX_DURATION_S:
        raise ValueError(f"{value!r} is longer than a year (366d)")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact spelling: 21600 → "6h", 5400 → "1h30m", 0.5 → "0.5s"."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest = int(seconds)
    if rest == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


# A float of seconds in Python, a duration string in TOML (and in `config check` output).
Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
