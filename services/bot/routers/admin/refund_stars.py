"""``/refund_stars <telegram id> <charge id>``: the Stars of a payment go back to the user
(``refundStarPayment``) and the time it added is taken back (``RefundSucceeded``, as a
YooKassa refund does). Asking twice refunds once: Telegram refunds a charge once, and
the event's id comes from the charge."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from services.bot.adapters.events import BotEvents, stars_origin
from services.bot.adapters.read_api import ReadApi
from services.bot.domain import stars
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin.common import REFUND_STARS

ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"


@dataclass(frozen=True)
class Said:
    """What to tell the admin: a text key and its values."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


async def refund(
    order: stars.RefundOrder, *, bot: Bot, read_api: ReadApi, events: BotEvents
) -> Said:
    """Refund a recorded Stars payment of the user in full (shared by the command and the
    held payments' refund button)."""
    named = {"telegram_id": order.telegram_id, "charge_id": order.charge_id}
    recorded = await read_api.payment(stars.PROVIDER, order.charge_id)
    if recorded is None or recorded.telegram_id != order.telegram_id:
        return Said("admin_stars_unknown", named)
    try:
        await bot.refund_star_payment(order.telegram_id, order.charge_id)
    except TelegramBadRequest as error:
        if ALREADY_REFUNDED not in error.message:  # refunded before: publish it again
            return Said("admin_stars_refund_refused", {**named, "reason": error.message})
    event = stars.refund(order.telegram_id, order.charge_id, recorded.amount, datetime.now(UTC))
    await events.publish(event, stars_origin(order.charge_id))
    return Said("admin_stars_refunded", {**named, "amount": recorded.amount})


async def refund_command(
    message: Message,
    *,
    command: CommandObject,
    bot: Bot,
    viewer: Viewer,
    read_api: ReadApi,
    events: BotEvents,
) -> None:
    order = stars.RefundOrder.parse(command.args)
    if order is None:
        await message.answer(viewer.t("admin_stars_usage"))
        return
    said = await refund(order, bot=bot, read_api=read_api, events=events)
    await message.answer(viewer.t(said.key, **said.values))


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(refund_command, Command(REFUND_STARS))
    return router
