"""Sending through the Telegram Bot API at Telegram's pace.

One shared limiter for the whole process (about 30 messages/s) and one per chat (about
1 message/s); a 429 is honoured by waiting its ``retry_after`` and sending again, so no
429 is ever left unhandled (only a chat still refused after ``flood_attempts`` waits
gives up, as a retryable failure). A send that fails says why (:class:`Reason`):

- *blocked for now* (``blocked``, ``deactivated``): the user blocked the bot or deleted
  their account; nothing reaches them until they talk to the bot again.
- *retryable* (``chat_not_found``, ``network``, ``server_error``, ``flood``): may pass
  later; ``chat not found`` means the user never started the bot, which they may yet do.
- *rejected*: Telegram refuses this message itself (too long, bad markup); sending it
  again changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
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


class Reason(StrEnum):
    """Why a send failed (a metric label: a small fixed set)."""

    BLOCKED = "blocked"
    DEACTIVATED = "deactivated"
    CHAT_NOT_FOUND = "chat_not_found"
    NETWORK = "network"
    SERVER_ERROR = "server_error"
    FLOOD = "flood"
    REJECTED = "rejected"


RETRYABLE = frozenset({Reason.CHAT_NOT_FOUND, Reason.NETWORK, Reason.SERVER_ERROR, Reason.FLOOD})

# Telegram's descriptions, lower-cased; the status code alone does not tell them apart.
_BLOCKED_WORDS = {"blocked by the user": Reason.BLOCKED, "user is deactivated": Reason.DEACTIVATED}
_UNKNOWN_CHAT_WORDS = ("chat not found", "peer_id_invalid", "can't initiate conversation")


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    message_id: int | None = None
    error: str | None = None
    reason: Reason | None = None

    @property
    def retryable(self) -> bool:
        """Failed for a reason that can change: worth sending again later."""
        return self.reason in RETRYABLE

    def details(self) -> dict[str, str | int]:
        """What to record of it: the message id, or the error and its reason."""
        reason = None if self.reason is None else str(self.reason)
        found: dict[str, str | int | None] = {
            "message_id": self.message_id,
            "error": self.error,
            "failure": reason,
        }
        return {name: value for name, value in found.items() if value is not None}


def failure(error: TelegramAPIError) -> Result:
    """What a Bot API error means for this message (see the module's docstring)."""
    words = error.message.lower()
    if isinstance(error, TelegramForbiddenError):
        for phrase, reason in _BLOCKED_WORDS.items():
            if phrase in words:
                return Result(Outcome.BLOCKED, error=error.message, reason=reason)
    if isinstance(error, TelegramBadRequest | TelegramForbiddenError):
        unknown = any(phrase in words for phrase in _UNKNOWN_CHAT_WORDS)
        reason = Reason.CHAT_NOT_FOUND if unknown else Reason.REJECTED
        return Result(Outcome.FAILED, error=error.message, reason=reason)
    if isinstance(error, TelegramNetworkError):
        return Result(Outcome.FAILED, error=error.message, reason=Reason.NETWORK)
    if isinstance(error, TelegramServerError):
        return Result(Outcome.FAILED, error=error.message, reason=Reason.SERVER_ERROR)
    if isinstance(error, TelegramRetryAfter):
        return Result(Outcome.FAILED, error=error.message, reason=Reason.FLOOD)
    return Result(Outcome.FAILED, error=error.message, reason=Reason.REJECTED)


class TelegramSender:
    def __init__(
        self,
        bot: Bot,
        per_second: float = 30,
        per_chat_per_second: float = 1,
        transient_attempts: int = 5,
        flood_attempts: int = 20,
    ) -> None:
        self._bot = bot
        self._global = AsyncLimiter(per_second, 1)
        self._per_chat_rate = per_chat_per_second
        self._chats: dict[int, AsyncLimiter] = {}
        self._attempts = transient_attempts
        self._flood_attempts = flood_attempts
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
        transient = floods = 0
        while True:
            async with self._chat(chat_id), self._global:
                try:
                    message = await self._bot.send_message(chat_id, text, reply_markup=markup)
                except TelegramRetryAfter as error:
                    self.retries_after_429 += 1
                    floods += 1
                    if floods >= self._flood_attempts:
                        return failure(error)
                    log.info("429 for chat %s: waiting %ss", chat_id, error.retry_after)
                    await asyncio.sleep(error.retry_after)
                    continue
                except (TelegramNetworkError, TelegramServerError) as error:
                    transient += 1
                    if transient >= self._attempts:
                        return failure(error)
                    await asyncio.sleep(min(2**transient * 0.2, 10))
                    continue
                except (TelegramBadRequest, TelegramForbiddenError) as error:
                    return failure(error)
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
