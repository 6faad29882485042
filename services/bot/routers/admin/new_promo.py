"""Create a promo code: ``CODE days=N uses=N valid=N`` on one line. The subscription
processor keeps the first code of a name; the admin gets the deep link to share."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, Update

from events.admin_commands import PromoCodeCreated
from services.bot.adapters.events import BotEvents, update_origin
from services.bot.config import BotSettings
from services.bot.domain.admin_input import Invalid
from services.bot.domain.display import date
from services.bot.domain.promo_input import parse_new_promo, promo_link
from services.bot.keyboards.admin import admin_menu
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.common import AdminApis
from services.bot.routers.admin.states import NewPromo
from services.bot.routers.common import Trigger, clear, respond


async def begin(
    trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext, apis: AdminApis
) -> None:
    await state.set_state(NewPromo.details)
    await respond(trigger, bot, viewer.t("admin_promo_prompt"))


async def create(
    message: Message,
    *,
    bot: Bot,
    viewer: Viewer,
    state: FSMContext,
    events: BotEvents,
    event_update: Update,
    settings: BotSettings,
) -> None:
    try:
        promo = parse_new_promo(message.text, datetime.now(UTC))
    except Invalid as error:
        await message.answer(viewer.t(error.key, **error.values))
        return
    created = PromoCodeCreated(
        code=promo.code,
        days=promo.days,
        max_uses=promo.max_uses,
        expires_at=promo.expires_at,
        admin_id=viewer.telegram_id,
    )
    await events.publish(created, update_origin(event_update))
    await clear(state)
    username = settings.username or (await bot.me()).username or ""
    await message.answer(
        viewer.t(
            "admin_promo_created",
            code=promo.code,
            days=promo.days,
            uses=promo.max_uses,
            until=date(promo.expires_at),
            link=promo_link(username, promo.code),
        ),
        reply_markup=admin_menu(viewer),
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(create, NewPromo.details)
    return router
