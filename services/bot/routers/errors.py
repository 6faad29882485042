"""What the user hears when something behind the bot fails: never silence."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import Chat, ErrorEvent, User

from keyland.kafka.producer import PublishFailed
from services.bot.adapters.http_api import Unavailable
from services.bot.locales import text

log = logging.getLogger(__name__)


async def _tell(
    event: ErrorEvent, bot: Bot, user: User | None, chat: Chat | None, key: str
) -> None:
    if event.update.callback_query is not None:
        with contextlib.suppress(TelegramAPIError):
            await event.update.callback_query.answer()
    chat_id = chat.id if chat is not None else (user.id if user is not None else None)
    if chat_id is None:
        return
    language = user.language_code if user is not None else None
    with contextlib.suppress(TelegramAPIError):
        await bot.send_message(chat_id, text(key, language))


async def dependency_down(
    event: ErrorEvent,
    bot: Bot,
    event_from_user: User | None = None,
    event_chat: Chat | None = None,
) -> None:
    """A service or Kafka did not answer: nothing was done, the user may retry."""
    log.warning("update %s not served: %s", event.update.update_id, event.exception)
    await _tell(event, bot, event_from_user, event_chat, "error_unavailable")


async def unexpected(
    event: ErrorEvent,
    bot: Bot,
    event_from_user: User | None = None,
    event_chat: Chat | None = None,
) -> None:
    log.exception("update %s failed", event.update.update_id, exc_info=event.exception)
    await _tell(event, bot, event_from_user, event_chat, "error_unexpected")


def build_router() -> Router:
    router = Router(name=__name__)
    router.error.register(dependency_down, ExceptionTypeFilter(Unavailable, PublishFailed))
    router.error.register(unexpected, ExceptionTypeFilter(Exception))
    return router
