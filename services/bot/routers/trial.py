"""The free trial: asked for once; the subscription processor decides and the notifier
announces it."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import Update

from events.bot_actions import TrialRequested
from events.buttons import MenuAction
from services.bot.adapters.events import BotEvents, update_origin
from services.bot.domain.display import date
from services.bot.keyboards.menu import back_to_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import Trigger, respond


async def trial(
    trigger: Trigger, bot: Bot, viewer: Viewer, events: BotEvents, event_update: Update
) -> None:
    account = await viewer.account()
    if account is not None and account.trial_used:
        await respond(
            trigger, bot, viewer.t("trial_already_used"), reply_markup=back_to_menu(viewer, "buy")
        )
        return
    if account is not None and account.until is not None and account.active_at(datetime.now(UTC)):
        await respond(
            trigger,
            bot,
            viewer.t("trial_not_needed", until=date(account.until)),
            reply_markup=back_to_menu(viewer, "connect"),
        )
        return
    await events.publish(
        TrialRequested(telegram_id=viewer.telegram_id), update_origin(event_update)
    )
    await respond(trigger, bot, viewer.t("trial_requested"), reply_markup=back_to_menu(viewer))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(trial, Command("trial"))
    router.callback_query.register(trial, MenuAction.filter(F.action == "trial"))
    return router
