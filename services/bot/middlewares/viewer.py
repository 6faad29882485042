"""Loads the user behind each message or button press: their account from the read
API, their language, whether they are an admin."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from keyland.texts import language_of
from services.bot.adapters.http_api import Unavailable
from services.bot.adapters.read_api import Account, ReadApi
from services.bot.locales import text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Viewer:
    """The Telegram user of the current update, as handlers see them (``viewer``)."""

    user: User
    language: str
    is_admin: bool
    loaded: Account | None
    load_error: Unavailable | None = None

    @property
    def telegram_id(self) -> int:
        return self.user.id

    @property
    def account(self) -> Account | None:
        """The read model's account (None: not registered yet). Raises ``Unavailable``
        when the read API could not be asked, for the error router to explain."""
        if self.load_error is not None:
            raise self.load_error
        return self.loaded

    def t(self, key: str, **values: Any) -> str:
        """The text ``key`` in this user's language."""
        return text(key, self.language, **values)


class ViewerMiddleware(BaseMiddleware):
    """Outer middleware for messages and callback queries: adds ``viewer``.

    A read API outage does not stop updates that need no account (``/start`` still
    registers the user); handlers that read ``viewer.account`` fail then, and the error
    router tells the user to try again.
    """

    def __init__(self, read_api: ReadApi, admin_ids: Collection[int]) -> None:
        self._read_api = read_api
        self._admin_ids = frozenset(admin_ids)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return None  # channel posts and other bots: nothing for us
        account: Account | None = None
        failure: Unavailable | None = None
        try:
            account = await self._read_api.user(user.id)
        except Unavailable as error:
            log.warning("account of %s not loaded: %s", user.id, error)
            failure = error
        stored_language = account.language_code if account is not None else None
        language = language_of(user.language_code or stored_language)
        data["viewer"] = Viewer(
            user=user,
            language=language,
            is_admin=user.id in self._admin_ids,
            loaded=account,
            load_error=failure,
        )
        return await handler(event, data)
