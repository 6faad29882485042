"""The main menu and the way back to it."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from events.buttons import MenuAction
from services.bot.keyboards.callbacks import RenewalOff
from services.bot.middlewares.viewer import Viewer

MAIN_MENU = ("trial", "connect", "buy", "profile", "referral", "region", "support")


def main_menu(viewer: Viewer) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for action in MAIN_MENU:
        builder.button(text=viewer.t(f"button_{action}"), callback_data=MenuAction(action=action))
    builder.adjust(1, 2, 2, 2)
    return builder.as_markup()


def back_to_menu(viewer: Viewer, *actions: str, renewal_off: bool = False) -> InlineKeyboardMarkup:
    """``actions`` as buttons (e.g. ``buy``), then the way back to the menu; first, with
    ``renewal_off``, the button that turns automatic renewal off."""
    builder = InlineKeyboardBuilder()
    if renewal_off:
        builder.button(text=viewer.t("button_renewal_off"), callback_data=RenewalOff())
    for action in actions:
        builder.button(text=viewer.t(f"button_{action}"), callback_data=MenuAction(action=action))
    builder.button(text=viewer.t("button_menu"), callback_data=MenuAction(action="menu"))
    builder.adjust(1)
    return builder.as_markup()
