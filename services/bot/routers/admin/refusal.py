"""Admin commands and buttons from anyone not an admin: a short no, nothing done."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from services.bot.keyboards.callbacks import AdminMenu, BroadcastDecision
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.common import COMMANDS


async def refuse_command(message: Message, viewer: Viewer) -> None:
    await message.answer(viewer.t("admin_refused"))


async def refuse_button(callback: CallbackQuery, viewer: Viewer) -> None:
    await callback.answer(viewer.t("admin_refused"), show_alert=True)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(refuse_command, Command(*COMMANDS))
    router.callback_query.register(refuse_button, AdminMenu.filter())
    router.callback_query.register(refuse_button, BroadcastDecision.filter())
    return router
