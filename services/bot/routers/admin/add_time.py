"""Add (or take) time: ``tgid=...``/``username=...``, then ``months+=N`` and/or
``days+=N`` (both may follow the user on one line). The subscription processor applies
it or refuses it (past the horizon) and the notifier tells the admin why."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, Update

from events.admin_commands import SubscriptionAdjusted
from services.bot.adapters.events import BotEvents, update_origin
from services.bot.adapters.read_api import Account, ReadApi
from services.bot.domain.admin_input import (
    Adjustment,
    Invalid,
    parse_adjustment,
    parse_target_with_adjustment,
)
from services.bot.keyboards.admin import admin_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.common import label, resolve
from services.bot.routers.common import Trigger, respond
from services.bot.states import AddTime


async def begin(
    trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext, read_api: ReadApi
) -> None:
    await state.set_state(AddTime.target)
    await respond(trigger, bot, viewer.t("admin_add_time_prompt"))


async def _adjust(
    message: Message,
    *,
    viewer: Viewer,
    state: FSMContext,
    events: BotEvents,
    origin: str,
    telegram_id: int,
    who: str,
    adjustment: Adjustment,
) -> None:
    await events.publish(
        SubscriptionAdjusted(
            telegram_id=telegram_id,
            months=adjustment.months,
            days=adjustment.days,
            admin_id=viewer.telegram_id,
        ),
        origin,
    )
    await state.clear()
    await message.answer(
        viewer.t("admin_adjustment_sent", user=who, months=adjustment.months, days=adjustment.days),
        reply_markup=admin_menu(viewer),
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
        target, adjustment = parse_target_with_adjustment(message.text or "")
        account: Account = await resolve(read_api, target)
    except Invalid as error:
        await message.answer(viewer.t(error.key, **error.values))
        return
    if adjustment is not None:
        await _adjust(
            message,
            viewer=viewer,
            state=state,
            events=events,
            origin=update_origin(event_update),
            telegram_id=account.telegram_id,
            who=label(account),
            adjustment=adjustment,
        )
        return
    await state.update_data(telegram_id=account.telegram_id, who=label(account))
    await state.set_state(AddTime.amounts)
    await message.answer(viewer.t("admin_add_time_amounts_prompt", user=label(account)))


async def choose_amounts(
    message: Message, viewer: Viewer, state: FSMContext, events: BotEvents, event_update: Update
) -> None:
    try:
        adjustment = parse_adjustment(message.text or "")
    except Invalid as error:
        await message.answer(viewer.t(error.key, **error.values))
        return
    data = await state.get_data()
    await _adjust(
        message,
        viewer=viewer,
        state=state,
        events=events,
        origin=update_origin(event_update),
        telegram_id=int(data["telegram_id"]),
        who=str(data["who"]),
        adjustment=adjustment,
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(choose_user, AddTime.target)
    router.message.register(choose_amounts, AddTime.amounts)
    return router
