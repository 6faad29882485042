"""The admin panel: only for ``KEYLAND_BOT_ADMIN_IDS``; everyone else is refused."""

from __future__ import annotations

from aiogram import Router

from services.bot.routers.admin import (
    add_time,
    block,
    broadcast,
    find_user,
    held_payments,
    new_promo,
    panel,
    refund_stars,
    refusal,
    test_notification,
)
from services.bot.routers.admin.filters import IsAdmin


def admin_router() -> Router:
    admins = Router(name=__name__)
    admins.message.filter(IsAdmin())
    admins.callback_query.filter(IsAdmin())
    admins.include_routers(
        panel.build_router(),  # first: EXIT and the commands win over any step's input
        find_user.build_router(),
        broadcast.build_router(),
        add_time.build_router(),
        test_notification.build_router(),
        held_payments.build_router(),
        new_promo.build_router(),
        block.build_router(),
        refund_stars.build_router(),
    )
    outer = Router(name=f"{__name__}.outer")
    outer.include_routers(admins, refusal.build_router())
    return outer
