"""Choosing the preferred region: from the menu, or the notifier's buttons after the
first purchase and when the chosen region's node is down (``region:<country>``)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Update

from events.bot_actions import RegionChosen
from events.buttons import MenuAction, RegionChoice
from services.bot.adapters.events import BotEvents, update_origin
from services.bot.adapters.regions import Regions
from services.bot.keyboards.menu import back_to_menu
from services.bot.keyboards.regions import regions as region_buttons
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import Trigger, respond


async def show_regions(trigger: Trigger, bot: Bot, viewer: Viewer, regions: Regions) -> None:
    countries = regions.all()
    if not countries:
        await respond(trigger, bot, viewer.t("region_none"), reply_markup=back_to_menu(viewer))
        return
    account = await viewer.account_if_known()
    current = account.region if account is not None else None
    await respond(
        trigger,
        bot,
        viewer.t("region_choose"),
        reply_markup=region_buttons(viewer, countries, current),
    )


async def choose_region(
    callback: CallbackQuery,
    *,
    callback_data: RegionChoice,
    bot: Bot,
    viewer: Viewer,
    regions: Regions,
    events: BotEvents,
    event_update: Update,
) -> None:
    countries = regions.all()
    # Without a countries file the bot trusts the notifier's buttons; with one, a
    # country not in it (removed since, or a forged press) is refused.
    if countries and callback_data.country not in countries:
        await respond(
            callback,
            bot,
            viewer.t("region_unknown"),
            reply_markup=region_buttons(viewer, countries, None),
        )
        return
    await events.publish(
        RegionChosen(telegram_id=viewer.telegram_id, region=callback_data.country),
        update_origin(event_update),
    )
    await respond(
        callback,
        bot,
        viewer.t("region_chosen", region=callback_data.country.capitalize()),
        reply_markup=back_to_menu(viewer, "connect"),
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(show_regions, Command("region"))
    router.callback_query.register(show_regions, MenuAction.filter(F.action == "region"))
    router.callback_query.register(choose_region, RegionChoice.filter(F.country.len() > 0))
    return router
