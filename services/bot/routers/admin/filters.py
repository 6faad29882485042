"""Filters over the ``viewer`` the middleware adds."""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import TelegramObject

from services.bot.middlewares.viewer import Viewer


class IsAdmin(BaseFilter):
    """Passes for Telegram ids in ``KEYLAND_BOT_ADMIN_IDS`` only."""

    async def __call__(self, event: TelegramObject, viewer: Viewer) -> bool:
        return viewer.is_admin
