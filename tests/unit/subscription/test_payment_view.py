"""One payment as the read API answers it (``GET /v1/payments/{provider}/{id}``), from the
document the subscription service stores: credited, held, or only refunds so far."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from services.bot.adapters.read_api import Payment
from services.subscription.adapters.payments import credited
from services.subscription.domain.ledger import Paid
from services.subscription.entrypoints.read_api import public_payment

AT = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
USER = 4242


def test_a_credited_payment_says_whose_it_is_what_it_cost_and_what_went_back() -> None:
    entry = Paid(
        event_id=uuid.uuid4(),
        at=AT,
        payment_id="telegram_stars:stxK1",
        plan="month_1",
        months=1,
        days=0,
        amount=Decimal(150),
        currency="XTR",
    )
    document = {"_id": entry.payment_id, "refunds": {"stxK1": "150"}, **credited(USER, entry)}
    found = Payment.model_validate(public_payment(document))
    assert (found.provider, found.payment_id, found.telegram_id) == (
        "telegram_stars",
        "stxK1",
        USER,
    )
    assert (found.status, found.amount, found.currency) == ("credited", Decimal(150), "XTR")
    assert found.refunded == Decimal(150)
    assert (found.plan, found.paid_at) == ("month_1", AT)


def test_a_held_payment_answers_with_its_held_amount() -> None:
    document = {
        "_id": "telegram_stars:stx:K2",
        "status": "held",
        "telegram_id": USER,
        "refunds": {},
        "held": {"amount": "149", "currency": "XTR", "payment_id": "stx:K2"},
    }
    found = Payment.model_validate(public_payment(document))
    assert (found.payment_id, found.status, found.amount) == ("stx:K2", "held", Decimal(149))


def test_refunds_recorded_before_their_payment_are_no_payment_yet() -> None:
    assert public_payment({"_id": "yookassa:p1", "refunds": {"r1": "1.00"}}) is None
