"""A stopping bot waits for the updates it already took, even those whose handling had
not reached the middleware when it began to wait."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.types import TelegramObject

from services.bot.middlewares.in_flight import InFlight

UPDATE = TelegramObject()


async def test_an_update_that_reaches_the_middleware_a_moment_later_is_waited_for() -> None:
    in_flight = InFlight()
    handled: list[str] = []

    async def handler(_: Any, __: dict[str, Any]) -> None:
        await asyncio.sleep(0.05)
        handled.append("/start")

    async def late() -> None:  # the dispatcher's steps before the middleware
        await asyncio.sleep(0.05)
        await in_flight(handler, UPDATE, {})

    task = asyncio.create_task(late())
    assert await in_flight.drained(5)
    assert handled == ["/start"]
    await task


async def test_the_drain_gives_up_at_its_timeout() -> None:
    in_flight = InFlight()

    async def endless(_: Any, __: dict[str, Any]) -> None:
        await asyncio.sleep(5)

    task = asyncio.create_task(in_flight(endless, UPDATE, {}))
    await asyncio.sleep(0)
    assert not await in_flight.drained(0.05)
    task.cancel()
