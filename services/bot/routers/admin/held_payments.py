"""Held payments: money that came in but was not credited as a plan (no order of ours,
or not the order's price). Each is shown with its claim; the admin grants it (the
claimed plan is credited to the claimed user, once per payment however often granted)
or refunds it in full: through the payments ingest (YooKassa's refund notification then
reaches the ledger like any refund), or for Stars through Telegram (``/refund_stars``)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from events.admin_commands import HeldPaymentGranted
from services.bot.adapters.events import BotEvents
from services.bot.adapters.payments import Payments
from services.bot.adapters.read_api import HeldPayment, ReadApi
from services.bot.config import BotSettings
from services.bot.domain import stars
from services.bot.keyboards.callbacks import HeldDecision
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.admin import refund_stars
from services.bot.routers.admin.common import AdminApis
from services.bot.routers.common import Trigger, chat_of, respond

DASH = "—"


def _decidable(held: HeldPayment) -> bool:
    """Whether the payment's id fits in a button (a Stars charge id may not)."""
    try:
        HeldDecision(payment_id=held.payment_id, grant=True).pack()
    except ValueError:  # aiogram refuses callback data over Telegram's 64 bytes
        return False
    return True


def _card(viewer: Viewer, held: HeldPayment) -> str:
    metadata = ", ".join(f"{k}={v}" for k, v in sorted(held.metadata.items())) or DASH
    card = viewer.t(
        "admin_held_card",
        payment_id=held.payment_id,
        amount=f"{held.amount} {held.currency}",
        telegram_id=held.telegram_id or DASH,
        plan=held.plan or DASH,
        reason=held.reason,
        metadata=metadata,
    )
    if held.provider == stars.PROVIDER and held.telegram_id is not None and not _decidable(held):
        card += "\n" + viewer.t(
            "admin_held_stars_refund", telegram_id=held.telegram_id, charge_id=held.payment_id
        )
    return card


def _decisions(viewer: Viewer, held: HeldPayment) -> InlineKeyboardMarkup | None:
    if not _decidable(held):
        return None
    builder = InlineKeyboardBuilder()
    if held.telegram_id is not None and held.plan is not None:
        builder.button(
            text=viewer.t("button_admin_grant", plan=str(held.plan)),
            callback_data=HeldDecision(payment_id=held.payment_id, grant=True),
        )
    builder.button(
        text=viewer.t("button_admin_refund"),
        callback_data=HeldDecision(payment_id=held.payment_id, grant=False),
    )
    builder.adjust(1)
    return builder.as_markup()


async def begin(
    trigger: Trigger, bot: Bot, viewer: Viewer, state: FSMContext, apis: AdminApis
) -> None:
    held = await apis.read_api.held_payments()
    if not held:
        await respond(trigger, bot, viewer.t("admin_held_none"))
        return
    await respond(trigger, bot, viewer.t("admin_held_title", n=len(held)))
    for payment in held:
        await bot.send_message(
            chat_of(trigger),
            _card(viewer, payment),
            reply_markup=_decisions(viewer, payment),
        )


async def decide(
    callback: CallbackQuery,
    *,
    callback_data: HeldDecision,
    bot: Bot,
    viewer: Viewer,
    settings: BotSettings,
    read_api: ReadApi,
    payments: Payments,
    events: BotEvents,
) -> None:
    pending = {p.payment_id: p for p in await read_api.held_payments()}
    held = pending.get(callback_data.payment_id)
    if held is None:
        await respond(
            callback, bot, viewer.t("admin_held_gone", payment_id=callback_data.payment_id)
        )
        return
    if not callback_data.grant and held.provider == stars.PROVIDER and held.telegram_id:
        order = stars.RefundOrder(held.telegram_id, held.payment_id)
        said = await refund_stars.refund(order, bot=bot, read_api=read_api, events=events)
        await respond(callback, bot, viewer.t(said.key, **said.values))
        return
    if not callback_data.grant:
        refusal = await payments.refund_held(held.payment_id)
        key, values = (
            ("admin_held_refunded", {})
            if refusal is None
            else ("admin_held_refund_refused", {"reason": refusal})
        )
        await respond(callback, bot, viewer.t(key, payment_id=held.payment_id, **values))
        return
    if held.telegram_id is None or held.plan is None or held.plan not in settings.plans:
        await respond(
            callback, bot, viewer.t("admin_held_not_grantable", payment_id=held.payment_id)
        )
        return
    plan = settings.plans[held.plan]
    grant = HeldPaymentGranted(
        telegram_id=held.telegram_id,
        payment_id=held.payment_id,
        provider=held.provider,
        plan=held.plan,
        months=plan.months,
        days=plan.days,
        amount=held.amount,
        currency=held.currency,
        admin_id=viewer.telegram_id,
    )
    # The origin is the payment, not the tap: every grant of it is one event.
    await events.publish(grant, f"held-payment:{held.provider}:{held.payment_id}")
    await respond(
        callback,
        bot,
        viewer.t(
            "admin_held_granted", payment_id=held.payment_id, plan=held.plan, user=held.telegram_id
        ),
    )


def build_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(decide, HeldDecision.filter())
    return router
