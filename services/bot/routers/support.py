"""Support: the configured contact."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command

from events.buttons import MenuAction
from services.bot.config import BotSettings
from services.bot.keyboards.menu import back_to_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import Trigger, respond


async def support(trigger: Trigger, bot: Bot, viewer: Viewer, settings: BotSettings) -> None:
    await respond(
        trigger,
        bot,
        viewer.t("support_info", contact=settings.support_contact, telegram_id=viewer.telegram_id),
        reply_markup=back_to_menu(viewer),
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(support, Command("support"))
    router.callback_query.register(support, MenuAction.filter(F.action == "support"))
    return router
