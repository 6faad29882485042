"""The referral window: the personal invite link and what it earned."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command

from events.buttons import MenuAction
from services.bot.adapters.read_api import ReadApi
from services.bot.config import BotSettings
from services.bot.domain.display import referral_link
from services.bot.keyboards.menu import back_to_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import Trigger, respond


async def referral(
    trigger: Trigger, bot: Bot, viewer: Viewer, read_api: ReadApi, settings: BotSettings
) -> None:
    username = settings.username or (await bot.me()).username
    earned = await read_api.referrals(viewer.telegram_id)
    await respond(
        trigger,
        bot,
        viewer.t(
            "referral_info",
            link=referral_link(username or "", viewer.telegram_id),
            invited=earned.invited,
            bonus_days=earned.bonus_days,
        ),
        reply_markup=back_to_menu(viewer),
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(referral, Command("referral", "invite"))
    router.callback_query.register(referral, MenuAction.filter(F.action == "referral"))
    return router
