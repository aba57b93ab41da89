"""The measurement clock: seconds since the measurement started, from the monotonic clock."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]


def measurement_clock() -> Clock:
    start = time.monotonic()

    def now() -> float:
        return round(time.monotonic() - start, 6)

    return now


def utc_now_iso() -> str:
    """Wall-clock now, UTC, ISO-8601 with microseconds and a Z."""
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
