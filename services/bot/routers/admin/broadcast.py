"""A broadcast: the text, then the buttons (``Кнопки: profile myKeys support`` or
``нет``), then a preview to confirm. The notifier sends it to every user.

The broadcast's id is drawn when the text is given, so pressing "Send" twice (or a
redelivered press) publishes the same broadcast, which the notifier runs once.
"""

from __future__ import annotations

import uuid

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from events.admin_commands import BroadcastRequested
from events.buttons import MENU_ACTIONS
from services.bot.adapters.events import BotEvents
from services.bot.domain.admin_input import Invalid, broadcast_text, parse_buttons
from services.bot.keyboards.admin import admin_menu, broadcast_confirmation
from services.bot.keyboards.callbacks import BroadcastDecision
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.common import AdminApis
from services.bot.routers.admin.states import Broadcast
from services.bot.routers.common import Trigger, clear, respond

BUTTON_NAMES = " ".join(MENU_ACTIONS)


async def begin(
    trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext, apis: AdminApis
) -> None:
    await state.set_state(Broadcast.text)
    await respond(trigger, bot, viewer.t("admin_broadcast_prompt"))


async def take_text(message: Message, viewer: Viewer, state: FSMContext) -> None:
    try:
        text = broadcast_text(message.text)
    except Invalid as error:
        await message.answer(viewer.t(error.key, **error.values))
        return
    await state.update_data(text=text, broadcast_id=str(uuid.uuid4()))
    await state.set_state(Broadcast.buttons)
    await message.answer(viewer.t("admin_broadcast_buttons_prompt", names=BUTTON_NAMES))


async def take_buttons(message: Message, viewer: Viewer, state: FSMContext) -> None:
    try:
        buttons = parse_buttons(message.text or "", MENU_ACTIONS)
    except Invalid as error:
        await message.answer(viewer.t(error.key, **error.values))
        return
    data = await state.update_data(buttons=list(buttons))
    await state.set_state(Broadcast.confirm)
    await message.answer(
        viewer.t(
            "admin_broadcast_preview",
            text=data["text"],
            buttons=" ".join(buttons) or viewer.t("admin_no_buttons"),
        ),
        reply_markup=broadcast_confirmation(viewer),
    )


async def expect_decision(message: Message, viewer: Viewer) -> None:
    await message.answer(viewer.t("admin_broadcast_confirm_expected"))


async def decide(
    callback: CallbackQuery,
    *,
    callback_data: BroadcastDecision,
    bot: Bot,
    viewer: Viewer,
    state: FSMContext,
    events: BotEvents,
) -> None:
    if not callback_data.send:
        await clear(state)
        await respond(callback, bot, viewer.t("admin_cancelled"), reply_markup=admin_menu(viewer))
        return
    data = await state.get_data()
    broadcast_id = uuid.UUID(data["broadcast_id"])
    await events.publish(
        BroadcastRequested(
            broadcast_id=broadcast_id,
            admin_id=viewer.telegram_id,
            text=data["text"],
            buttons=tuple(data.get("buttons", ())),
        ),
        f"broadcast:{broadcast_id}",
    )
    await clear(state)
    await respond(
        callback,
        bot,
        viewer.t("admin_broadcast_sent", broadcast_id=broadcast_id),
        reply_markup=admin_menu(viewer),
    )


async def stale_decision(callback: CallbackQuery, bot: Bot, viewer: Viewer) -> None:
    await respond(callback, bot, viewer.t("admin_nothing_to_confirm"))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(take_text, Broadcast.text)
    router.message.register(take_buttons, Broadcast.buttons)
    router.message.register(expect_decision, Broadcast.confirm)
    router.callback_query.register(decide, Broadcast.confirm, BroadcastDecision.filter())
    router.callback_query.register(stale_decision, BroadcastDecision.filter())
    return router
