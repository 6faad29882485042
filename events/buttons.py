"""Callback data of the inline buttons the notifier sends and the bot answers: a contract
between the two services (the notifier packs them under its notices and broadcasts, the
bot's routers filter on them). Buttons only the bot sends are in ``services/bot/callbacks.py``.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

# Names admins use in broadcasts ("Кнопки: profile myKeys support") → menu actions.
MENU_ACTIONS = ("profile", "myKeys", "support", "buy", "connect", "referral", "region")


class MenuAction(CallbackData, prefix="menu"):
    action: str


class RegionChoice(CallbackData, prefix="region"):
    country: str
