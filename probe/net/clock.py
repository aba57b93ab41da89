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
