"""Region buttons: the same ``region:<country>`` the notifier sends after a purchase."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from events.buttons import MenuAction, RegionChoice
from services.bot.middlewares.viewer import Viewer


def regions(viewer: Viewer, countries: Sequence[str], current: str | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for country in countries:
        mark = "✅ " if country == current else ""
        builder.button(
            text=f"{mark}{country.capitalize()}", callback_data=RegionChoice(country=country)
        )
    builder.button(text=viewer.t("button_menu"), callback_data=MenuAction(action="menu"))
    builder.adjust(2)
    return builder.as_markup()
