"""Anything no feature took: the menu for words, a hint for stale buttons."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from services.bot.keyboards.menu import main_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import clear


async def unknown_message(message: Message, viewer: Viewer, state: FSMContext) -> None:
    # A state nobody handles here (an admin flow of someone no longer an admin) ends.
    await clear(state)
    await message.answer(viewer.t("unknown_input"), reply_markup=main_menu(viewer))


async def unknown_button(callback: CallbackQuery, viewer: Viewer) -> None:
    await callback.answer(viewer.t("button_outdated"))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(unknown_message)
    router.callback_query.register(unknown_button)
    return router
