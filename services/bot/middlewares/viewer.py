"""The user behind each message or button press: their language, whether they are an
admin, and their account from the read API, asked for only when a handler wants it
(``/start``, the first update of every new user, needs none: one read API call and one
database read fewer per newcomer)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from events.users import UserView
from keyland.texts import language_of
from services.bot.adapters.http_api import Unavailable
from services.bot.adapters.read_api import ReadApi
from services.bot.locales import text

log = logging.getLogger(__name__)


class Viewer:
    """The Telegram user of the current update, as handlers see them (``viewer``)."""

    def __init__(self, user: User, language: str, is_admin: bool, read_api: ReadApi) -> None:
        self.user = user
        self.language = language
        self.is_admin = is_admin
        self._read_api = read_api
        self._asked = False
        self._loaded: UserView | None = None
        self._error: Unavailable | None = None

    @property
    def telegram_id(self) -> int:
        return self.user.id

    async def account(self) -> UserView | None:
        """The read model's account (None: not registered yet), asked once per update.
        Raises ``Unavailable`` when the read API could not be asked, for the error router
        to explain."""
        if not self._asked:
            self._asked = True
            try:
                self._loaded = await self._read_api.user(self.user.id)
            except Unavailable as error:
                log.warning("account of %s not loaded: %s", self.user.id, error)
                self._error = error
        if self._error is not None:
            raise self._error
        return self._loaded

    async def account_if_known(self) -> UserView | None:
        """The account, or None when unknown or the read API is away: for what only looks
        better with it (the preferred region first)."""
        try:
            return await self.account()
        except Unavailable:
            return None

    def t(self, key: str, **values: Any) -> str:
        """The text ``key`` in this user's language."""
        return text(key, self.language, **values)


class ViewerMiddleware(BaseMiddleware):
    """Outer middleware for messages and callback queries: adds ``viewer``.

    A read API outage does not stop updates that need no account (``/start`` still
    registers the user); handlers that ask for ``viewer.account()`` fail then, and the
    error router tells the user to try again. The account is read up front only when
    Telegram sent no language, to speak the one the user had before.
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
        language = user.language_code
        viewer = Viewer(user, language_of(language), user.id in self._admin_ids, self._read_api)
        if not language:
            account = await viewer.account_if_known()
            viewer.language = language_of(account.language_code if account else None)
        data["viewer"] = viewer
        return await handler(event, data)
