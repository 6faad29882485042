"""A test notification: ``tgid=...``/``username=...``, then the delay in seconds (or
both on one line: ``tgid=123 30``). The notifier sends it when due."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, Update

from events.admin_commands import TestNotificationRequested
from services.bot.adapters.events import BotEvents, update_origin
from services.bot.adapters.read_api import ReadApi
from services.bot.domain.admin_input import Invalid, parse_delay, parse_target_with_delay
from services.bot.keyboards.admin import admin_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.common import label, resolve
from services.bot.routers.common import Trigger, respond
from services.bot.states import TestNotification


async def begin(
    trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext, read_api: ReadApi
) -> None:
    await state.set_state(TestNotification.target)
    await respond(trigger, bot, viewer.t("admin_test_prompt"))


async def _request(
    message: Message,
    *,
    viewer: Viewer,
    state: FSMContext,
    events: BotEvents,
    origin: str,
    telegram_id: int,
    who: str,
    delay_s: int,
) -> None:
    await events.publish(
        TestNotificationRequested(
            telegram_id=telegram_id,
            admin_id=viewer.telegram_id,
            delay_seconds=delay_s,
            text=viewer.t("admin_test_text"),
        ),
        origin,
    )
    await state.clear()
    await message.answer(
        viewer.t("admin_test_sent", user=who, seconds=delay_s), reply_markup=admin_menu(viewer)
    )


async def choose_user(
    message: Message,
    *,
    viewer: Viewer,
    state: FSMContext,
    read_api: ReadApi,
    events: BotEvents,
    event_update: Update,
) -> None:
    try:
        target, delay_s = parse_target_with_delay(message.text or "")
        account = await resolve(read_api, target)
    except Invalid as error:
        await message.answer(viewer.t(error.key, **error.values))
        return
    if delay_s is not None:
        await _request(
            message,
            viewer=viewer,
            state=state,
            events=events,
            origin=update_origin(event_update),
            telegram_id=account.telegram_id,
            who=label(account),
            delay_s=delay_s,
        )
        return
    await state.update_data(telegram_id=account.telegram_id, who=label(account))
    await state.set_state(TestNotification.delay)
    await message.answer(viewer.t("admin_test_delay_prompt", user=label(account)))


async def choose_delay(
    message: Message, viewer: Viewer, state: FSMContext, events: BotEvents, event_update: Update
) -> None:
    try:
        delay_s = parse_delay(message.text or "")
    except Invalid as error:
        await message.answer(viewer.t(error.key, **error.values))
        return
    data = await state.get_data()
    await _request(
        message,
        viewer=viewer,
        state=state,
        events=events,
        origin=update_origin(event_update),
        telegram_id=int(data["telegram_id"]),
        who=str(data["who"]),
        delay_s=delay_s,
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(choose_user, TestNotification.target)
    router.message.register(choose_delay, TestNotification.delay)
    return router
