"""One emulated bot while the server runs: its state, and who waits for it to change."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from emulators.telegram.limits import RateLimits
from emulators.telegram.state import BotAccount, BotState

Disconnected = Callable[[], Awaitable[Any]]
"""Resolves when the HTTP client that asked has gone away."""


class Changes:
    """Wakes long polls and control waits whenever the bot's state may have changed.

    A wait may name a cheap ``probe`` of what it waits on (a chat's message count, say):
    a change then wakes it only if the probe's value moved. A thousand users waiting each
    for their own chat cost a comparison each per change, instead of a wake-up and a
    re-check each (which made the emulator's CPU grow with the square of the users)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._probed: dict[asyncio.Future[None], tuple[Callable[[], object], object]] = {}

    def announce(self) -> None:
        self._event.set()
        self._event = asyncio.Event()
        for future, (probe, seen) in list(self._probed.items()):
            if probe() != seen:
                del self._probed[future]
                if not future.done():
                    future.set_result(None)

    async def until(
        self,
        condition: Callable[[], bool],
        timeout_s: float,
        probe: Callable[[], object] | None = None,
    ) -> bool:
        """Whether ``condition`` held within ``timeout_s`` seconds; with ``probe``,
        ``condition`` is looked at again only when the probe's value changed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            if probe is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._event.wait(), remaining)
                continue
            moved: asyncio.Future[None] = loop.create_future()
            self._probed[moved] = (probe, probe())
            try:
                await asyncio.wait_for(moved, remaining)
            except TimeoutError:
                continue
            finally:
                self._probed.pop(moved, None)
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
