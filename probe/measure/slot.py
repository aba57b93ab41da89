"""One URL's share of --parallel, lent to the next URL while it only waits on a silent network.

--parallel bounds the work in flight: CPU, packets being sent, questions to the control helper. A
step that has heard nothing for `QUIET_AFTER_S` — a SYN or a ClientHello a censor swallowed, now
waiting out its 10 s timeout — does none of that work. It lends its slot to the next URL while it
waits and takes a slot back (waiting its turn like any other URL) before it does anything more.
Without lending, the ~10 % of hosts a censor drops hold most of the slots for 10 s at a time and,
not the network or the CPU, set how long a list takes. What is measured does not change: each step
keeps its own timeout and its own timestamps; only when the next step starts may be a little later.

The runner's other bound (`SETTLING_FACTOR` × --parallel measurements open at once) still caps the
sockets: a lending URL stays open and counts there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from enum import Enum
from typing import TypeVar

from probe.net.fetch import Waiting

T = TypeVar("T")
__all__ = ["QUIET_AFTER_S", "Slot", "Waiting", "just_wait"]

# Longer than any answer on a working path (a handshake across the world is ~0.3-0.6 s), so a slot
# is lent only by a step that is, for all it knows, waiting for its timeout.
QUIET_AFTER_S = 1.0


async def just_wait(exchange: Awaitable[T], /) -> T:
    """No slot to lend (a single measurement, a test): the exchange as it is."""
    return await exchange


class _Held(Enum):
    HELD = "held"  # the URL works: it counts against --parallel
    LENT = "lent"  # a step waits on a silent network: the slot is another URL's meanwhile
    GIVEN_UP = "given up"  # the URL's own steps are over (or it was cancelled): never taken back


class Slot:
    """Taken with `await Slot.take(active)`; `wait` lends it during quiet exchanges; `give_up` frees it
    for good (once the URL's own steps are over, and again, harmlessly, when its task ends)."""

    def __init__(self, active: asyncio.Semaphore, *, quiet_after_s: float = QUIET_AFTER_S) -> None:
        self._active = active
        self._quiet_after_s = quiet_after_s
        self._state = _Held.HELD
        self.lent_count = 0  # how many times this URL lent its slot (for tests and curiosity)

    @classmethod
    async def take(cls, active: asyncio.Semaphore, *, quiet_after_s: float = QUIET_AFTER_S) -> Slot:
        await active.acquire()
        return cls(active, quiet_after_s=quiet_after_s)

    async def wait(self, exchange: Awaitable[T], /) -> T:
        if self._state is not _Held.HELD:  # already lent (a step inside a quiet step) or given up
            return await exchange
        timer = asyncio.get_running_loop().call_later(self._quiet_after_s, self._lend)
        cancelled = False
        try:
            return await exchange
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            timer.cancel()
            if self._lent():  # (a method: the timer may have changed the state during the await)
                if cancelled:
                    self._state = _Held.GIVEN_UP  # the run is stopping: no point queueing for a slot
                else:
                    await self._active.acquire()  # cancelled here: still LENT, give_up frees nothing
                    self._state = _Held.HELD

    def give_up(self) -> None:
        if self._state is _Held.HELD:
            self._active.release()
        self._state = _Held.GIVEN_UP

    def _lent(self) -> bool:
        return self._state is _Held.LENT

    def _lend(self) -> None:
        if self._state is _Held.HELD:
            self._state = _Held.LENT
            self.lent_count += 1
            self._active.release()
