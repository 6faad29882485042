"""A payment read back from the bot's Star transactions is the payment its update
reported: settled to the same event, so reconciliation republishes, never invents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiogram.types import (
    StarTransaction,
    TransactionPartnerFragment,
    TransactionPartnerUser,
    User,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from keyland.plans import PlanSpec
from services.bot.adapters.star_ledger import payment_of
from services.bot.domain.stars import STARS, InvoiceTerms, Published, StarsPayment, settle

PLANS = {
    "month_1": PlanSpec(months=1, price=Decimal("199.00"), stars=150),
    "month_12": PlanSpec(months=12, price=Decimal("1799.00")),
}
AT = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)


def user_partner(user_id: int, payload: str | None, kind: str = "invoice_payment") -> Any:
    return TransactionPartnerUser(
        transaction_type=kind,
        user=User(id=user_id, is_bot=False, first_name="Ann"),
        invoice_payload=payload,
    )


@st.composite
def reported(draw: st.DrawFn) -> StarsPayment:
    """A Stars payment as its ``successful_payment`` update reports it."""
    buyer = draw(st.integers(1, 2**52))
    terms = InvoiceTerms(
        plan=draw(st.sampled_from([*PLANS, "lifetime"])),
        stars=draw(st.sampled_from([150, 149, 1])),
        telegram_id=draw(st.sampled_from([buyer, buyer + 1])),
    )
    return StarsPayment(
        payer_id=buyer,
        charge_id=draw(st.text("abcXYZ019_-", min_size=1, max_size=40)),
        currency=STARS,
        total=draw(st.sampled_from([150, terms.stars, 7])),
        payload=draw(st.sampled_from([terms.payload, "not ours"])),
        paid_at=AT,
    )


@settings(max_examples=300, deadline=None)
@given(reported())
def test_a_payment_read_back_settles_as_its_update_did(paid: StarsPayment) -> None:
    transaction = StarTransaction(
        id=paid.charge_id,
        amount=paid.total,
        date=paid.paid_at,
        source=user_partner(paid.payer_id, paid.payload),
    )

    read_back = payment_of(transaction)

    assert read_back == paid
    assert settle(PLANS, read_back) == settle(PLANS, paid)


def test_only_users_paying_invoices_are_payments() -> None:
    def transaction(**partners: Any) -> StarTransaction:
        return StarTransaction(id="stxKcharge", amount=150, date=AT, **partners)

    refund = transaction(receiver=user_partner(4242, "stars:month_1:150:4242"))
    withdrawal_back = transaction(source=TransactionPartnerFragment())
    gift = transaction(source=user_partner(4242, None, kind="gift_purchase"))
    paid = transaction(source=user_partner(4242, "stars:month_1:150:4242"))

    assert [payment_of(t) for t in (refund, withdrawal_back, gift)] == [None] * 3
    assert payment_of(paid) is not None


def test_published_payments_are_kept_for_the_window_read_back_only() -> None:
    def paid(charge_id: str, minutes_ago: int) -> StarsPayment:
        return StarsPayment(4242, charge_id, STARS, 150, "x", AT - timedelta(minutes=minutes_ago))

    published = Published()
    for payment in (paid("old", 90), paid("edge", 60), paid("new", 1)):
        published.add(payment)

    published.forget_before(AT - timedelta(minutes=60))

    assert paid("old", 90) not in published
    assert paid("edge", 60) in published
    assert paid("new", 1) in published
    assert len(published) == 2
