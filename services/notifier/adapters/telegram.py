"""Sending through the Telegram Bot API at Telegram's pace.

One shared limiter for the whole process (about 30 messages/s) and one per chat (about
1 message/s); a 429 is honoured by waiting its ``retry_after`` and sending again, so no
429 is ever left unhandled. A user who blocked the bot is reported, not retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiolimiter import AsyncLimiter

log = logging.getLogger(__name__)

LabelledButton = tuple[str, str]
"""(label, callback data)."""


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message_id: int | None = None
    error: str | None = None


class TelegramSender:
    def __init__(
        self,
        bot: Bot,
        per_second: float = 30,
        per_chat_per_second: float = 1,
        transient_attempts: int = 5,
    ) -> None:
        self._bot = bot
        self._global = AsyncLimiter(per_second, 1)
        self._per_chat_rate = per_chat_per_second
        self._chats: dict[int, AsyncLimiter] = {}
        self._attempts = transient_attempts
        self.retries_after_429 = 0

    def _chat(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            if len(self._chats) > 50_000:
                self._chats.clear()  # idle chats' budgets are full anyway
            limiter = self._chats[chat_id] = AsyncLimiter(1, 1 / self._per_chat_rate)
        return limiter

    async def send(self, chat_id: int, text: str, buttons: Sequence[LabelledButton] = ()) -> Result:
        markup = (
            InlineKeyboardMarkup(
                inline_keyboard=[
                    [InlineKeyboardButton(text=label, callback_data=data)]
                    for label, data in buttons
                ]
            )
            if buttons
            else None
        )
        transient = 0
        while True:
            async with self._chat(chat_id), self._global:
                try:
                    message = await self._bot.send_message(chat_id, text, reply_markup=markup)
                except TelegramRetryAfter as error:
                    self.retries_after_429 += 1
                    log.info("429 for chat %s: waiting %ss", chat_id, error.retry_after)
                    await asyncio.sleep(error.retry_after)
                    continue
                except TelegramForbiddenError as error:
                    return Result(Outcome.BLOCKED, error=error.message)
                except TelegramBadRequest as error:
                    return Result(Outcome.FAILED, error=error.message)
                except (TelegramNetworkError, TelegramServerError) as error:
                    transient += 1
                    if transient >= self._attempts:
                        return Result(Outcome.FAILED, error=str(error))
                    await asyncio.sleep(min(2**transient * 0.2, 10))
                    continue
                return Result(Outcome.SENT, message_id=message.message_id)

    async def edit(self, chat_id: int, message_id: int, text: str) -> None:
        """Best effort: an edit that fails is only logged (progress messages)."""
        async with self._chat(chat_id), self._global:
            try:
                await self._bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id)
            except TelegramRetryAfter as error:
                self.retries_after_429 += 1
                await asyncio.sleep(error.retry_after)
            except (
                TelegramBadRequest,
                TelegramForbiddenError,
                TelegramNetworkError,
                TelegramServerError,
            ) as error:
                log.info("edit of %s/%s not done: %s", chat_id, message_id, error)

    async def close(self) -> None:
        await self._bot.session.close()
