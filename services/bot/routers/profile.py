"""The profile: until when access lasts, days left, region, trial."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command

from events.buttons import MenuAction
from services.bot.domain.display import date, days_left
from services.bot.keyboards.menu import back_to_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import Trigger, respond


def _days(viewer: Viewer, n: int) -> str:
    return viewer.t("days_left_1") if n == 1 else viewer.t("days_left_n", n=n)


async def profile(trigger: Trigger, bot: Bot, viewer: Viewer) -> None:
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
    if account.active_at(now):
        left = _days(viewer, days_left(account.until, now))
        status = viewer.t("profile_active", until=date(account.until), days_left=left)
        markup = back_to_menu(viewer, "connect", "buy")
    else:
        status = viewer.t("profile_expired", until=date(account.until))
        markup = back_to_menu(viewer, "buy")
    await respond(trigger, bot, f"{status}\n\n{details}", reply_markup=markup)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(profile, Command("profile"))
    router.callback_query.register(profile, MenuAction.filter(F.action == "profile"))
    return router
