"""One emulated bot while the server runs: its state, and who waits for it to change."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from emulators.telegram.limits import RateLimits
from emulators.telegram.state import BotAccount, BotState

Disconnected = Callable[[], Awaitable[Any]]
"""Resolves when the HTTP client that asked has gone away."""


class Changes:
    """Wakes long polls and control waits whenever the bot's state may have changed."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def announce(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def until(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Whether ``condition`` held within ``timeout_s`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                continue
        return True

    async def until_or_gone(
        self, condition: Callable[[], bool], timeout_s: float, gone: Disconnected | None
    ) -> bool:
        """As :meth:`until`, but stop early if the client disconnects."""
        waiting = asyncio.ensure_future(self.until(condition, timeout_s))
        tasks: set[asyncio.Future[Any]] = {waiting}
        if gone is not None:
            tasks.add(asyncio.ensure_future(gone()))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return condition()


class Runtime:
    """A bot's state, replaced whole on reset, and its change notifications."""

    def __init__(self, account: BotAccount, limits: RateLimits) -> None:
        self.account = account
        self.default_limits = limits
        self.changes = Changes()
        self.poll_generation = 0
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=500)
        self.state = self._fresh_state()

    def _fresh_state(self) -> BotState:
        state = BotState(self.account)
        state.throttle.configure(self.default_limits)
        return state

    def reset(self) -> None:
        self.state = self._fresh_state()
        self.deliveries.clear()
        self.changes.announce()
