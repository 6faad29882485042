"""Callback data of the bot's own buttons. Buttons the notifier also sends (menu actions,
regions) are in ``events.buttons``."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class BuyPlan(CallbackData, prefix="buy"):
    plan: str


class GiftPlans(CallbackData, prefix="gifts"):
    """Show the plans to buy as a gift."""


class BuyGift(CallbackData, prefix="buygift"):
    """Buy ``plan`` as a gift."""

    plan: str


class BuyRenewing(CallbackData, prefix="buyrenew"):
    """The plan paid with the card saved to renew it automatically (opt-in)."""

    plan: str


class BuyStars(CallbackData, prefix="stars"):
    """Pay for ``plan`` in Telegram Stars: the bot sends an invoice in ``XTR``."""

    plan: str


class RenewalOff(CallbackData, prefix="renewoff"):
    """The user turns automatic renewal off (from the profile)."""


class AdminTool(StrEnum):
    FIND = "find"
    BROADCAST = "broadcast"
    ADD_TIME = "addtime"
    TEST = "test"
    STATS = "stats"
    HELD = "held"
    PROMO = "newpromo"
    BLOCK = "block"
    CAPACITY = "capacity"


class AdminMenu(CallbackData, prefix="admin"):
    tool: AdminTool


class BroadcastDecision(CallbackData, prefix="bcast"):
    send: bool


class HeldDecision(CallbackData, prefix="held"):
    """An admin grants (as its claimed plan) or refunds a held payment."""

    payment_id: str
    grant: bool
