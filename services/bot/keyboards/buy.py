"""Plan buttons and the pay button."""

from __future__ import annotations

from collections.abc import Mapping

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from events.buttons import MenuAction
from keyland.plans import PlanSpec
from services.bot.keyboards.callbacks import BuyGift, BuyPlan, BuyRenewing, BuyStars, GiftPlans
from services.bot.locales import Speaks
from services.bot.middlewares.viewer import Viewer


def duration(speaker: Speaks, plan: PlanSpec) -> str:
    parts = []
    if plan.months:
        parts.append(speaker.t("plan_months", n=plan.months))
    if plan.days:
        parts.append(speaker.t("plan_days", n=plan.days))
    return " ".join(parts)


def plans(
    viewer: Viewer, offered: Mapping[str, PlanSpec], *, gift: bool = False
) -> InlineKeyboardMarkup:
    """One row per plan: its price (a YooKassa payment), and beside it its Stars price
    (an invoice in Stars) when it has one; with ``gift``, one button per plan, bought as a
    gift. Then the way to the gift plans (from one's own) and back to the menu."""
    builder = InlineKeyboardBuilder()
    rows = []
    for name, plan in offered.items():
        builder.button(
            text=viewer.t(
                "plan_label",
                duration=duration(viewer, plan),
                price=plan.price,
                currency=plan.currency,
            ),
            callback_data=BuyGift(plan=name) if gift else BuyPlan(plan=name),
        )
        if plan.stars is not None and not gift:
            builder.button(
                text=viewer.t("button_stars", stars=plan.stars),
                callback_data=BuyStars(plan=name),
            )
        rows.append(1 if plan.stars is None or gift else 2)
    if not gift:
        builder.button(text=viewer.t("button_buy_gift"), callback_data=GiftPlans())
        rows.append(1)
    builder.button(text=viewer.t("button_menu"), callback_data=MenuAction(action="menu"))
    builder.adjust(*rows, 1)
    return builder.as_markup()


def pay(
    viewer: Viewer, plan: PlanSpec, url: str, renewing_instead: BuyRenewing | None = None
) -> InlineKeyboardMarkup:
    """The pay button; with ``renewing_instead``, the offer to pay with automatic renewal."""
    builder = InlineKeyboardBuilder()
    builder.button(text=viewer.t("button_pay", price=plan.price, currency=plan.currency), url=url)
    if renewing_instead is not None:
        builder.button(text=viewer.t("button_pay_renewing"), callback_data=renewing_instead)
    builder.button(text=viewer.t("button_menu"), callback_data=MenuAction(action="menu"))
    builder.adjust(1)
    return builder.as_markup()
