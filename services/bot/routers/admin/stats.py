"""Business figures from the read API: numbers and a bar chart. One step, so no router
of its own: the panel opens it."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery

from services.bot.adapters.read_api import Stats
from services.bot.domain.images import bar_chart_png
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.common import AdminApis
from services.bot.routers.common import Trigger, chat_of


def caption(viewer: Viewer, stats: Stats) -> str:
    revenue = ", ".join(f"{amount} {currency}" for currency, amount in stats.revenue.items())
    return viewer.t(
        "admin_stats",
        users=stats.users,
        active=stats.active,
        trials=stats.trials,
        paid=stats.paid,
        conversion=f"{stats.trial_to_paid * 100:.1f}%",
        revenue=revenue or "—",
    )


def chart(stats: Stats) -> bytes:
    # Pillow's built-in font is Latin-only, so the chart's labels are English words.
    return bar_chart_png(
        "Keyland users",
        [
            ("users", stats.users),
            ("active", stats.active),
            ("trials", stats.trials),
            ("paid", stats.paid),
        ],
    )


async def begin(
    trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext, apis: AdminApis
) -> None:
    figures = await apis.read_api.stats()
    if isinstance(trigger, CallbackQuery):
        await trigger.answer()
    await bot.send_photo(
        chat_of(trigger),
        BufferedInputFile(chart(figures), filename="keyland-stats.png"),
        caption=caption(viewer, figures),
    )
