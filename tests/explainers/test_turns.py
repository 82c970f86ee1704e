"""Turns: one holder at a time; waiters served round-robin by key, in order within a key."""

from __future__ import annotations

import asyncio

from explainers.site.turns import Turns


def test_keys_take_turns_and_each_keys_order_is_kept():
    order: list[str] = []

    async def run() -> None:
        turns = Turns()
        release = asyncio.Event()

        async def work(key: str, n: int, hold: bool = False) -> None:
            async with turns.turn(key):
                order.append(f"{key}{n}")
                if hold:
                    await release.wait()

        first = asyncio.create_task(work("a", 0, hold=True))
        await asyncio.sleep(0)
        # While a0 holds: a1, a2, a3 line up before b1 and c1 arrive.
        tasks = [asyncio.create_task(work(k, n)) for k, n in
                 [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("c", 1)]]  # fmt: skip
        await asyncio.sleep(0)
        assert turns.waiting == 5
        release.set()
        await asyncio.gather(first, *tasks)
        assert turns.waiting == 0

    asyncio.run(run())
    assert order == ["a0", "a1", "b1", "c1", "a2", "a3"]


def test_a_waiter_cancelled_gives_up_its_turn_and_the_next_one_goes():
    order: list[str] = []

    async def run() -> None:
        turns = Turns()
        release = asyncio.Event()

        async def work(key: str, hold: bool = False) -> None:
            async with turns.turn(key):
                order.append(key)
                if hold:
                    await release.wait()

        holder = asyncio.create_task(work("a", hold=True))
        await asyncio.sleep(0)
        gone, after = asyncio.create_task(work("b")), asyncio.create_task(work("c"))
        await asyncio.sleep(0)
        gone.cancel()
        release.set()
        await asyncio.gather(holder, after)
        # and the lock is free again
        await asyncio.wait_for(work("d"), 1)

    asyncio.run(run())
    assert order == ["a", "c", "d"]
