"""Callback data of the bot's own buttons. Buttons the notifier also sends (menu actions,
regions) are in ``keyland.telegram.callbacks``."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class BuyPlan(CallbackData, prefix="buy"):
    plan: str


class AdminTool(StrEnum):
    FIND = "find"
    BROADCAST = "broadcast"
    ADD_TIME = "addtime"
    TEST = "test"
    STATS = "stats"


class AdminMenu(CallbackData, prefix="admin"):
    tool: AdminTool


class BroadcastDecision(CallbackData, prefix="bcast"):
    send: bool
