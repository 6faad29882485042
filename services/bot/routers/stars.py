"""Paying in Telegram Stars: the invoice, the pre-checkout answer, and the payment.

The bot is where Telegram reports a Stars payment, so the bot publishes it on the
``payments`` topic as the same :class:`~events.payments.PaymentSucceeded` YooKassa's
payments are (``provider`` ``telegram_stars``), with its id derived from the charge id:
the rest of the pipeline does not care which provider paid, and a payment reported
twice credits once.

Polling confirms an update before it is handled, so a bot stopped while publishing a
payment (or a refund) would lose it: :func:`reconcile` reads them back from Telegram's
Star transactions (at start and every ``KEYLAND_BOT_STARS_RECONCILE_EVERY_MIN``) and
publishes those this process has not published, decided the same way and with the same
id (after a restart, that is all of them again).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery

from events.payments import PaymentHeld, PaymentSucceeded, RefundSucceeded
from keyland.plans import PlanSpec
from keyland.retry import retry_transient
from services.bot.adapters.events import BotEvents, stars_origin
from services.bot.adapters.star_ledger import StarLedger
from services.bot.config import BotSettings
from services.bot.domain import stars
from services.bot.keyboards import buy as keyboards
from services.bot.keyboards.callbacks import BuyStars
from services.bot.locales import text
from services.bot.middlewares.viewer import Viewer
from services.bot.routers.common import chat_of, respond

log = logging.getLogger(__name__)


async def send_invoice(
    callback: CallbackQuery,
    *,
    callback_data: BuyStars,
    bot: Bot,
    viewer: Viewer,
    settings: BotSettings,
) -> None:
    terms = stars.invoice(settings.plans, callback_data.plan, viewer.telegram_id)
    if terms is None:
        await respond(
            callback,
            bot,
            viewer.t("stars_not_offered"),
            reply_markup=keyboards.plans(viewer, settings.plans),
        )
        return
    await callback.answer()
    duration = keyboards.duration(viewer, settings.plans[terms.plan])
    await bot.send_invoice(
        chat_of(callback),
        title=viewer.t("stars_invoice_title", duration=duration)[: stars.TITLE_MAX],
        description=viewer.t("stars_invoice_description", duration=duration),
        payload=terms.payload,
        currency=stars.STARS,
        prices=[LabeledPrice(label=duration, amount=terms.stars)],
    )


async def check_out(query: PreCheckoutQuery, settings: BotSettings) -> None:
    """Telegram waits at most 10 s for this answer: only pure checks happen here."""
    reason = stars.mismatch(
        settings.plans,
        query.from_user.id,
        query.currency,
        query.total_amount,
        query.invoice_payload,
    )
    if reason is None:
        await query.answer(ok=True)
        return
    log.info("pre-checkout %s of %s refused: %s", query.id, query.from_user.id, reason)
    await query.answer(
        ok=False,
        error_message=text("stars_checkout_refused", query.from_user.language_code),
    )


async def publish_payment(
    events: BotEvents,
    plans: Mapping[str, PlanSpec],
    published: stars.Published,
    payment: stars.StarsPayment,
) -> PaymentSucceeded | PaymentHeld:
    """Publish what ``payment`` is worth, waiting out a Kafka outage: the Stars are
    already taken. The same event however often, and by whichever path, it comes."""
    decided = stars.settle(plans, payment)
    # Stamped by the bot's clock, as the /start before it was: Telegram's date has whole
    # seconds, and a payment dated before the /start of the same second would be folded
    # as money from someone not registered yet. The payload keeps Telegram's date.
    origin = stars_origin(payment.charge_id)
    await retry_transient(lambda: events.publish(decided, origin))
    published.add(stars.PAID, payment.charge_id, payment.paid_at)
    log.info("%s %s of %s published", decided.event_type, decided.payment_id, payment.payer_id)
    return decided


async def paid(
    message: Message,
    viewer: Viewer,
    settings: BotSettings,
    events: BotEvents,
    published: stars.Published,
) -> None:
    payment = message.successful_payment
    assert payment is not None  # the filter's promise
    decided = await publish_payment(
        events,
        settings.plans,
        published,
        stars.StarsPayment(
            payer_id=message.chat.id,
            charge_id=payment.telegram_payment_charge_id,
            currency=payment.currency,
            total=payment.total_amount,
            payload=payment.invoice_payload,
            paid_at=message.date,
        ),
    )
    await message.answer(
        viewer.t("stars_paid" if isinstance(decided, PaymentSucceeded) else "stars_held")
    )


async def reconcile(
    ledger: StarLedger,
    events: BotEvents,
    plans: Mapping[str, PlanSpec],
    published: stars.Published,
    since: datetime,
) -> int:
    """Publish every Stars payment made since ``since``, then every refund, that this
    process has not published yet; how many. Consumers drop the copies of what was
    published before a restart (or, for refunds, by an admin's command)."""
    published.forget_before(since)
    moves = await ledger.moves_since(since)
    payments = [p for p in moves.payments if not published.knows(stars.PAID, p.charge_id)]
    refunds = [r for r in moves.refunds if not published.knows(stars.REFUNDED, r.payment_id)]
    for payment in payments:
        await publish_payment(events, plans, published, payment)
    for refund in refunds:
        await publish_refund(events, published, refund)
    return len(payments) + len(refunds)


async def publish_refund(
    events: BotEvents, published: stars.Published, refund: RefundSucceeded
) -> None:
    """Publish a Stars refund, waiting out a Kafka outage: the Stars went back already."""
    charge_id = refund.payment_id
    await retry_transient(lambda: events.publish(refund, stars_origin(charge_id)))
    published.add(stars.REFUNDED, charge_id, refund.refunded_at)


async def refunded(message: Message, events: BotEvents, published: stars.Published) -> None:
    """Telegram's word that Stars went back (whoever asked for it): the payment's time
    is taken back, once, however often the refund is reported."""
    refund = message.refunded_payment
    assert refund is not None  # the filter's promise
    if refund.currency != stars.STARS:
        return
    charge_id = refund.telegram_payment_charge_id
    event = stars.refund(message.chat.id, charge_id, Decimal(refund.total_amount), message.date)
    await publish_refund(events, published, event)


def build_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(send_invoice, BuyStars.filter())
    router.pre_checkout_query.register(check_out)
    router.message.register(paid, F.successful_payment)
    router.message.register(refunded, F.refunded_payment)
    return router
