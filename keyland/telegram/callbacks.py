"""Callback data of inline buttons: the contract between who sends a button (bot or
notifier) and who handles the press (the bot)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

# Names admins use in broadcasts ("Кнопки: profile myKeys support") → menu actions.
MENU_ACTIONS = ("profile", "myKeys", "support", "buy", "connect", "referral", "region")


class MenuAction(CallbackData, prefix="menu"):
    action: str


class RegionChoice(CallbackData, prefix="region"):
    country: str
