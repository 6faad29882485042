"""Batch handlers' users run side by side, a bounded number at a time, and a failure is
raised only once every user's work has ended."""

from __future__ import annotations

import asyncio

import pytest

from keyland.kafka.batches import SIDE_BY_SIDE, all_of, side_by_side


async def test_at_most_a_bounded_number_of_users_run_at_once() -> None:
    running, most = 0, 0

    async def apply(_: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1

    await side_by_side(range(200), apply)
    assert most == SIDE_BY_SIDE


async def test_a_failure_is_raised_after_every_user_ended() -> None:
    ended: list[int] = []

    async def apply(user: int) -> None:
        if user == 0:
            raise RuntimeError("user 0 failed")
        await asyncio.sleep(0.01)
        ended.append(user)

    with pytest.raises(RuntimeError, match="user 0 failed"):
        await side_by_side(range(40), apply)
    assert sorted(ended) == list(range(1, 40))


async def test_results_come_back_in_the_items_order() -> None:
    async def double(n: int) -> int:
        await asyncio.sleep(0.001 * (n % 3))
        return 2 * n

    assert await side_by_side(range(50), double) == [2 * n for n in range(50)]


async def test_independent_steps_run_at_once_and_a_failure_waits_for_the_others() -> None:
    started: list[str] = []
    ended: list[str] = []

    async def step(name: str, fail: bool = False) -> None:
        started.append(name)
        await asyncio.sleep(0.01)
        if fail:
            raise RuntimeError(f"{name} failed")
        ended.append(name)

    await all_of(step("file"), step("publish"))
    assert sorted(ended) == ["file", "publish"]

    started.clear()
    ended.clear()
    with pytest.raises(RuntimeError, match="file failed"):
        await all_of(step("file", fail=True), step("publish"), step("insert"))
    assert started == ["file", "publish", "insert"]  # all begun before any ended
    assert sorted(ended) == ["insert", "publish"]
