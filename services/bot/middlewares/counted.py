"""Counts every update by type and result, for ``keyland_bot_updates`` on ``/metrics``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update

from services.bot.adapters import metrics


class Counted(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        try:
            result = await handler(event, data)
        except Exception:
            metrics.BOT_UPDATES.labels(kind, "error").inc()
            raise
        metrics.BOT_UPDATES.labels(kind, "unhandled" if result is UNHANDLED else "handled").inc()
        return result
