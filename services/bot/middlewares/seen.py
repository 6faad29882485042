"""Tells the notifier that a user is around: ``UserSeen`` after they wrote to the bot or
pressed one of its buttons, paced per user (:class:`SeenPace`). ``/start`` publishes
``UserStarted`` instead, which the notifier takes as a visit too, and starts the pace.

Published after the update was handled, so the bot's answer comes before whatever the
notifier kept for the user. The report is claimed before it is published, so updates of
one user handled side by side report once; a failed publish gives the claim back and is
only logged (the next update tries again: the pace counts only what reached Kafka).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User

from events.bot_actions import UserSeen
from keyland.kafka.producer import PublishFailed
from services.bot.adapters.events import BotEvents, update_origin
from services.bot.domain.seen import SeenPace

log = logging.getLogger(__name__)


class Seen(BaseMiddleware):
    def __init__(self, events: BotEvents, pace: SeenPace) -> None:
        self._events = events
        self._pace = pace

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        finally:
            user: User | None = data.get("event_from_user")
            update: Update | None = data.get("event_update")
            if user is not None and not user.is_bot and update is not None:
                await self._report(user.id, update)

    async def _report(self, telegram_id: int, update: Update) -> None:
        now = time.monotonic()
        if not self._pace.claim(telegram_id, now):
            return
        try:
            await self._events.publish(UserSeen(telegram_id=telegram_id), update_origin(update))
        except PublishFailed as error:
            self._pace.unclaim(telegram_id, now)
            log.warning("UserSeen for %s not published: %s", telegram_id, error)
