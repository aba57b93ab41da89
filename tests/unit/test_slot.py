"""A URL's share of --parallel (probe.measure.slot): lent during a quiet wait, taken back after it."""

from __future__ import annotations

import asyncio

import pytest

from probe.measure.slot import Slot


def test_a_quick_exchange_keeps_the_slot() -> None:
    async def go() -> tuple[int, int]:
        active = asyncio.Semaphore(1)
        slot = await Slot.take(active, quiet_after_s=60)
        assert await slot.wait(asyncio.sleep(0, result=7)) == 7
        value_during = active._value  # noqa: SLF001 - the semaphore's count is what is under test
        slot.give_up()
        slot.give_up()  # the runner's finally gives up again: harmless
        return value_during, active._value  # noqa: SLF001

    assert asyncio.run(go()) == (0, 1)


def test_a_quiet_exchange_lends_the_slot_and_waits_its_turn_to_take_it_back() -> None:
    async def go() -> list[str]:
        active = asyncio.Semaphore(1)
        order: list[str] = []
        answer = asyncio.Event()
        slot_a = await Slot.take(active, quiet_after_s=0)

        async def a() -> None:
            await slot_a.wait(answer.wait())  # silent until `answer` is set
            order.append("a goes on")
            slot_a.give_up()

        async def b() -> None:
            slot_b = await Slot.take(active)  # only possible once a has lent its slot
            order.append("b took the slot")
            answer.set()  # a's answer arrives while b works: a must wait for b
            await asyncio.sleep(0.01)
            order.append("b done")
            slot_b.give_up()

        await asyncio.gather(a(), b())
        assert slot_a.lent_count == 1 and active._value == 1  # noqa: SLF001
        return order

    assert asyncio.run(go()) == ["b took the slot", "b done", "a goes on"]


def test_a_cancelled_lender_frees_nothing_twice() -> None:
    async def go() -> int:
        active = asyncio.Semaphore(2)
        slot = await Slot.take(active, quiet_after_s=0)
        waiting = asyncio.create_task(slot.wait(asyncio.Event().wait()))
        await asyncio.sleep(0.01)  # lent by now
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        slot.give_up()
        return active._value  # noqa: SLF001

    assert asyncio.run(go()) == 2


def test_an_exchange_that_raises_still_takes_the_slot_back() -> None:
    async def go() -> int:
        active = asyncio.Semaphore(1)
        slot = await Slot.take(active, quiet_after_s=0)

        async def broken() -> None:
            await asyncio.sleep(0.01)
            raise RuntimeError("a bug in a step")

        with pytest.raises(RuntimeError):
            await slot.wait(broken())
        during = active._value  # noqa: SLF001 - held again: the URL's own code runs on
        slot.give_up()
        return during * 10 + active._value  # noqa: SLF001

    assert asyncio.run(go()) == 1
