"""Counts updates being handled, so a stopping bot finishes them before closing its
clients (long polling has already confirmed them to Telegram: unfinished, they would be
lost)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject


class InFlight(BaseMiddleware):
    def __init__(self) -> None:
        self._handling = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self._handling += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._handling -= 1
            if self._handling == 0:
                self._idle.set()

    async def drained(self, timeout_s: float) -> bool:
        """Wait until no update is being handled; False if some still are at the timeout."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        return self._handling == 0
