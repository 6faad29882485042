"""A payment (or refund) read back from the bot's Star transactions is the one its update
reported: the same event, so reading them back republishes, never invents."""

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
from services.bot.adapters.star_ledger import payment_of, refund_of
from services.bot.domain.stars import (
    PAID,
    REFUNDED,
    STARS,
    InvoiceTerms,
    Published,
    StarsPayment,
    refund,
    settle,
)

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


def test_only_users_paying_invoices_are_payments_and_only_their_refunds_refunds() -> None:
    def transaction(**partners: Any) -> StarTransaction:
        return StarTransaction(id="stxKcharge", amount=150, date=AT, **partners)

    refunded = transaction(receiver=user_partner(4242, "stars:month_1:150:4242"))
    withdrawal_back = transaction(source=TransactionPartnerFragment())
    withdrawal = transaction(receiver=TransactionPartnerFragment())
    gift = transaction(source=user_partner(4242, None, kind="gift_purchase"))
    paid = transaction(source=user_partner(4242, "stars:month_1:150:4242"))

    assert [payment_of(t) for t in (refunded, withdrawal_back, withdrawal, gift)] == [None] * 4
    assert payment_of(paid) is not None
    assert [refund_of(t) for t in (paid, withdrawal_back, withdrawal, gift)] == [None] * 4
    # The refund its refunded_payment update reports: the same event, under the same id.
    assert refund_of(refunded) == refund(4242, "stxKcharge", Decimal(150), AT)


def test_what_was_published_is_kept_for_the_window_read_back_only() -> None:
    published = Published()
    published.add(PAID, "old", AT - timedelta(minutes=90))
    published.add(PAID, "edge", AT - timedelta(minutes=60))
    published.add(REFUNDED, "edge", AT - timedelta(minutes=1))

    published.forget_before(AT - timedelta(minutes=60))

    assert not published.knows(PAID, "old")
    assert published.knows(PAID, "edge")
    assert published.knows(REFUNDED, "edge")
    assert not published.knows(REFUNDED, "old")
    assert len(published) == 2
