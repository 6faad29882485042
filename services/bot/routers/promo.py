"""``/promo CODE``: the code goes to the subscription processor, which decides on the
code's partition; the notifier tells the user what came of it."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, Update

from events.bot_actions import PromoCodeEntered
from services.bot.adapters.events import BotEvents, update_origin
from services.bot.domain.admin_input import Invalid
from services.bot.domain.promo_input import promo_code
from services.bot.middlewares.viewer import Viewer


async def enter(
    code: str, message: Message, viewer: Viewer, events: BotEvents, origin: str, *, gift: bool
) -> None:
    """Send ``code`` (a gift's when ``gift``) on for the user and say it is being checked."""
    entered = PromoCodeEntered(telegram_id=viewer.telegram_id, code=code, gift=gift)
    await events.publish(entered, origin)
    await message.answer(viewer.t("gift_sent" if gift else "promo_sent", code=code))


async def promo(
    message: Message,
    *,
    command: CommandObject,
    viewer: Viewer,
    events: BotEvents,
    event_update: Update,
) -> None:
    try:
        code = promo_code(command.args)
    except Invalid as error:
        await message.answer(viewer.t(error.key, **error.values))
        return
    await enter(code, message, viewer, events, update_origin(event_update), gift=False)


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(promo, Command("promo"))
    return router
