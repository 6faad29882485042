"""The profile: until when access lasts, days left, automatic renewal (and turning it
off), region, trial, traffic this month."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Update

from events.bot_actions import RenewalTurnedOff
from events.buttons import MenuAction
from services.bot.adapters.events import BotEvents, update_origin
from services.bot.adapters.read_api import ReadApi
from services.bot.domain.display import date, days_left
from services.bot.keyboards.callbacks import RenewalOff
from services.bot.keyboards.menu import back_to_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import Trigger, respond, traffic_values


def _days(viewer: Viewer, n: int) -> str:
    return viewer.t("days_left_1") if n == 1 else viewer.t("days_left_n", n=n)


async def profile(trigger: Trigger, bot: Bot, viewer: Viewer, read_api: ReadApi) -> None:
    account, now = await viewer.account(), datetime.now(UTC)
    if account is None or not account.registered or account.until is None:
        offers = ("buy",) if account is not None and account.trial_used else ("trial", "buy")
        await respond(
            trigger,
            bot,
            viewer.t("profile_none", telegram_id=viewer.telegram_id),
            reply_markup=back_to_menu(viewer, *offers),
        )
        return
    details = viewer.t(
        "profile_details",
        telegram_id=viewer.telegram_id,
        region=account.region.capitalize() if account.region else viewer.t("profile_no_region"),
        trial=viewer.t("profile_trial_used" if account.trial_used else "profile_trial_available"),
        purchases=account.purchases,
    )
    traffic = await read_api.traffic(viewer.telegram_id)
    details += "\n" + viewer.t("profile_traffic", **traffic_values(viewer, traffic))
    if account.active_at(now):
        left = _days(viewer, days_left(account.until, now))
        status = viewer.t("profile_active", until=date(account.until), days_left=left)
        actions: tuple[str, ...] = ("connect", "buy")
    else:
        status = viewer.t("profile_expired", until=date(account.until))
        actions = ("buy",)
    if account.auto_renewal:
        renews = (
            viewer.t("profile_renews", date=date(account.renews_at))
            if account.renews_at is not None
            else viewer.t("profile_renewal_on")
        )
        status = f"{status}\n{renews}"
    markup = back_to_menu(viewer, *actions, renewal_off=account.auto_renewal)
    await respond(trigger, bot, f"{status}\n\n{details}", reply_markup=markup)


async def turn_off_renewal(
    callback: CallbackQuery, bot: Bot, viewer: Viewer, events: BotEvents, event_update: Update
) -> None:
    """Forget the saved card: nothing more is charged (the subscription service folds it)."""
    await events.publish(
        RenewalTurnedOff(telegram_id=viewer.telegram_id), update_origin(event_update)
    )
    await respond(callback, bot, viewer.t("renewal_turned_off"), reply_markup=back_to_menu(viewer))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(profile, Command("profile"))
    router.callback_query.register(profile, MenuAction.filter(F.action == "profile"))
    router.callback_query.register(turn_off_renewal, RenewalOff.filter())
    return router
