"""Find a user (``tgid=123`` or ``username=name``) and show what the read model says."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from services.bot.adapters.read_api import ReadApi
from services.bot.domain.admin_input import Invalid, parse_target
from services.bot.keyboards.admin import admin_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.common import AdminApis, card, matching
from services.bot.routers.admin.states import FindUser
from services.bot.routers.common import Trigger, clear, respond

SHOWN = 5


async def begin(
    trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext, apis: AdminApis
) -> None:
    await state.set_state(FindUser.target)
    await respond(trigger, bot, viewer.t("admin_find_prompt"))


async def find(message: Message, viewer: Viewer, state: FSMContext, read_api: ReadApi) -> None:
    try:
        target = parse_target(message.text or "")
    except Invalid as error:
        await message.answer(viewer.t(error.key, **error.values))
        return
    matches = await matching(read_api, target)
    if not matches:
        await message.answer(viewer.t("admin_user_not_found", target=str(target)))
        return
    await clear(state)
    for account in matches[:SHOWN]:
        traffic = await read_api.traffic(account.telegram_id)
        await message.answer(card(viewer, account, traffic))
    if len(matches) > SHOWN:
        await message.answer(viewer.t("admin_more_users", n=len(matches) - SHOWN))
    await message.answer(viewer.t("admin_menu"), reply_markup=admin_menu(viewer))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(find, FindUser.target)
    return router
