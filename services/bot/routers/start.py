"""``/start`` (with the ``ref_<id>`` deep link of an inviter, ``promo_<CODE>`` of a
promo code or ``gift_<CODE>`` of a gift) and the main menu."""

from __future__ import annotations

import time

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, Update

from events.bot_actions import UserStarted
from events.buttons import MenuAction
from services.bot.adapters.events import BotEvents, update_origin
from services.bot.adapters.read_api import ReadApi
from services.bot.domain.display import referrer_from
from services.bot.domain.promo_input import code_from_start
from services.bot.domain.seen import SeenPace
from services.bot.keyboards.menu import main_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import Trigger, clear, respond
from services.bot.routers.promo import enter


async def start(
    message: Message,
    *,
    command: CommandObject,
    viewer: Viewer,
    events: BotEvents,
    event_update: Update,
    state: FSMContext,
    read_api: ReadApi,
    seen_pace: SeenPace,
) -> None:
    await clear(state)
    user = viewer.user
    referrer = referrer_from(command.args, user.id)
    if referrer is not None:
        # Decided here and carried in the event, so a replay decides the same: a link
        # naming someone who never started the bot refers nobody (and registers nobody).
        inviter = await read_api.user(referrer)
        if inviter is None or not inviter.registered:
            referrer = None
    await events.publish(
        UserStarted(
            telegram_id=user.id,
            username=user.username,
            first_name=user.first_name,
            language_code=user.language_code,
            referrer_id=referrer,
        ),
        update_origin(event_update),
    )
    # The notifier takes UserStarted as a visit too: no UserSeen for this update, nor
    # for the next ones within the pace.
    seen_pace.reported(user.id, time.monotonic())
    await message.answer(
        viewer.t("menu_greeting", name=user.first_name), reply_markup=main_menu(viewer)
    )
    entered = code_from_start(command.args)
    if entered is not None:
        # After UserStarted, under its own id from the same update: a code won before the
        # user's registration is read is held for them, not lost.
        code, gift = entered
        await enter(code, message, viewer, events, update_origin(event_update), gift=gift)


async def menu(trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext) -> None:
    await clear(state)
    await respond(trigger, bot, viewer.t("menu_title"), reply_markup=main_menu(viewer))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.message.register(menu, Command("menu", "help"))
    router.callback_query.register(menu, MenuAction.filter(F.action == "menu"))
    return router
