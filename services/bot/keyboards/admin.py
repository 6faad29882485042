"""The admin panel's buttons."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from services.bot.keyboards.callbacks import AdminMenu, AdminTool, BroadcastDecision
from services.bot.middlewares.viewer import Viewer


def admin_menu(viewer: Viewer) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for tool in AdminTool:
        builder.button(text=viewer.t(f"button_admin_{tool}"), callback_data=AdminMenu(tool=tool))
    builder.adjust(1)
    return builder.as_markup()


def broadcast_confirmation(viewer: Viewer) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=viewer.t("button_admin_send"), callback_data=BroadcastDecision(send=True))
    builder.button(
        text=viewer.t("button_admin_cancel"), callback_data=BroadcastDecision(send=False)
    )
    builder.adjust(2)
    return builder.as_markup()
