"""Keeping to Telegram's pace: a 429 ("Too Many Requests: retry after N") is waited out
and the request sent again, so a burst (keys, then their QR code) never turns into an
error the user sees. Bounded: a wait longer than ``max_wait_s`` or more than
``attempts`` tries gives up with the 429 itself."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod

log = logging.getLogger(__name__)


class RetryAfter(BaseRequestMiddleware):
    def __init__(self, attempts: int = 4, max_wait_s: float = 30) -> None:
        self._attempts = attempts
        self._max_wait_s = max_wait_s

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt >= self._attempts or error.retry_after > self._max_wait_s:
                    raise
                log.info("429 on %s: retrying in %ss", method.__api_method__, error.retry_after)
                await asyncio.sleep(error.retry_after)
                attempt += 1
