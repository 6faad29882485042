"""Buying: plan buttons, then a payment from the payments ingest and its pay button; or
a plan as a gift, whose link (``start=gift_<code>``) the buyer shares once it is paid."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery

from events.buttons import MenuAction
from services.bot.adapters.payments import Payments, PlanRefused
from services.bot.config import BotSettings
from services.bot.domain.promo_input import gift_link
from services.bot.keyboards import buy as keyboards
from services.bot.keyboards.callbacks import BuyGift, BuyPlan, BuyRenewing, GiftPlans
from services.bot.keyboards.menu import back_to_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import Trigger, respond

log = logging.getLogger(__name__)


async def show_plans(trigger: Trigger, bot: Bot, viewer: Viewer, settings: BotSettings) -> None:
    await respond(
        trigger,
        bot,
        viewer.t("buy_choose"),
        reply_markup=keyboards.plans(viewer, settings.plans),
    )


async def show_gift_plans(
    trigger: Trigger, bot: Bot, viewer: Viewer, settings: BotSettings
) -> None:
    await respond(
        trigger,
        bot,
        viewer.t("buy_gift_choose"),
        reply_markup=keyboards.plans(viewer, settings.plans, gift=True),
    )


def order_id(callback: CallbackQuery, plan: str, *, renew: bool = False) -> str:
    """One order per plan button of one plans message: tapping it twice (two callback
    queries, two ids) gives the same payment; "Buy" again shows new buttons, a new order.
    Paying with automatic renewal instead is another order."""
    suffix = ":renew" if renew else ""
    if callback.message is None:  # too old for Telegram to say which message it was
        return f"callback:{callback.id}:{plan}{suffix}"
    return f"message:{callback.message.chat.id}:{callback.message.message_id}:{plan}{suffix}"


async def buy_plan(
    callback: CallbackQuery,
    *,
    callback_data: BuyPlan | BuyRenewing | BuyGift,
    bot: Bot,
    viewer: Viewer,
    settings: BotSettings,
    payments: Payments,
) -> None:
    plan = settings.plans.get(callback_data.plan)
    if plan is None:
        await respond(
            callback,
            bot,
            viewer.t("buy_unknown_plan"),
            reply_markup=keyboards.plans(viewer, settings.plans),
        )
        return
    renew = isinstance(callback_data, BuyRenewing)
    gift = isinstance(callback_data, BuyGift)
    try:
        checkout = await payments.create(
            viewer.telegram_id,
            callback_data.plan,
            order_id(callback, callback_data.plan, renew=renew),
            save_method=renew,
            gift=gift,
        )
    except PlanRefused as refusal:
        # The bot's plans and the ingest's differ: an operator must align them.
        log.error("payments ingest refused plan %s: %s", callback_data.plan, refusal)  # noqa: TRY400
        await respond(callback, bot, viewer.t("buy_failed"), reply_markup=back_to_menu(viewer))
        return
    bill = {"duration": keyboards.duration(viewer, plan), "price": plan.price}
    if gift and checkout.gift_code:
        username = settings.username or (await bot.me()).username or ""
        link = gift_link(username, checkout.gift_code)
        text = viewer.t("buy_gift_pay", **bill, currency=plan.currency, link=link)
    else:
        text = viewer.t("buy_pay_renewing" if renew else "buy_pay", **bill, currency=plan.currency)
    await respond(
        callback,
        bot,
        text,
        reply_markup=keyboards.pay(
            viewer,
            plan,
            checkout.confirmation_url,
            None if renew or gift else BuyRenewing(plan=callback_data.plan),
        ),
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(show_plans, Command("buy"))
    router.callback_query.register(show_plans, MenuAction.filter(F.action == "buy"))
    router.message.register(show_gift_plans, Command("gift"))
    router.callback_query.register(show_gift_plans, GiftPlans.filter())
    router.callback_query.register(buy_plan, BuyPlan.filter())
    router.callback_query.register(buy_plan, BuyGift.filter())
    router.callback_query.register(buy_plan, BuyRenewing.filter())
    return router
