"""Stars payments: only the exact match of an invoice we made (plan on sale in Stars, its
price, in XTR, paid by its buyer) is credited; every other payment is held, and the
pre-checkout query is refused on the same rules."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.payments import HoldReason, PaymentHeld, PaymentSucceeded
from keyland.plans import PlanSpec
from services.bot.domain.stars import (
    PROVIDER,
    STARS,
    InvoiceTerms,
    RefundOrder,
    StarsPayment,
    invoice,
    mismatch,
    offered,
    refund,
    settle,
)

PLANS = {
    "month_1": PlanSpec(months=1, price=Decimal("199.00"), stars=150),
    "week": PlanSpec(months=0, days=7, price=Decimal("49.00"), stars=40),
    "month_12": PlanSpec(months=12, price=Decimal("1799.00")),  # not sold in Stars
}
AT = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
BUYER = 4242

telegram_ids = st.integers(1, 2**52)
plan_names = st.sampled_from([*PLANS, "lifetime"])
totals = st.sampled_from([150, 40, 149, 151, 1]) | st.integers(1, 100_000)
currencies = st.sampled_from([STARS, "XTR", "RUB", "USD"])


@st.composite
def payments(draw: st.DrawFn) -> tuple[StarsPayment, InvoiceTerms]:
    """A Stars payment of any terms, mostly close to one of our invoices."""
    terms = InvoiceTerms(plan=draw(plan_names), stars=draw(totals), telegram_id=draw(telegram_ids))
    payload = draw(st.sampled_from([terms.payload, "not ours", terms.payload + "x"]))
    paid = StarsPayment(
        payer_id=draw(st.sampled_from([terms.telegram_id, terms.telegram_id + 1])),
        charge_id=draw(st.text("abcXYZ019_-", min_size=1, max_size=40)),
        currency=draw(currencies),
        total=draw(st.sampled_from([terms.stars, terms.stars + 1])),
        payload=payload,
        paid_at=AT,
    )
    return paid, terms


@settings(max_examples=500, deadline=None)
@given(payments())
def test_only_the_exact_match_of_an_invoice_on_sale_is_credited(
    drawn: tuple[StarsPayment, InvoiceTerms],
) -> None:
    paid, terms = drawn
    decided = settle(PLANS, paid)
    spec = PLANS.get(terms.plan)
    exact = (
        paid.payload == terms.payload
        and paid.payer_id == terms.telegram_id
        and paid.currency == STARS
        and spec is not None
        and spec.stars == terms.stars == paid.total
    )
    assert isinstance(decided, PaymentSucceeded) == exact
    assert (
        mismatch(PLANS, paid.payer_id, paid.currency, paid.total, paid.payload) is None
    ) == exact
    assert (decided.provider, decided.payment_id) == (PROVIDER, paid.charge_id)
    assert (decided.telegram_id, decided.amount) == (paid.payer_id, Decimal(paid.total))
    if isinstance(decided, PaymentSucceeded):
        assert spec is not None
        assert (decided.plan, decided.months, decided.days) == (terms.plan, spec.months, spec.days)
        assert (decided.currency, decided.paid_at) == (STARS, AT)
    else:
        assert isinstance(decided, PaymentHeld)
        assert decided.metadata == {"invoice_payload": paid.payload}


@settings(max_examples=300, deadline=None)
@given(payments())
def test_the_same_payment_is_decided_the_same_way(
    drawn: tuple[StarsPayment, InvoiceTerms],
) -> None:
    assert settle(PLANS, drawn[0]) == settle(PLANS, drawn[0])


@given(st.sampled_from(list(PLANS)), telegram_ids)
def test_an_invoice_the_bot_makes_is_paid_in_full_by_its_buyer(plan: str, buyer: int) -> None:
    terms = invoice(PLANS, plan, buyer)
    if PLANS[plan].stars is None:
        assert terms is None
        return
    assert terms is not None
    assert len(terms.payload.encode()) <= 128
    assert InvoiceTerms.parse(terms.payload) == terms
    paid = StarsPayment(buyer, "charge", STARS, terms.stars, terms.payload, AT)
    assert isinstance(settle(PLANS, paid), PaymentSucceeded)


def test_only_plans_with_a_stars_price_are_offered_in_stars() -> None:
    assert list(offered(PLANS)) == ["month_1", "week"]
    assert invoice(PLANS, "month_12", BUYER) is None
    assert invoice(PLANS, "lifetime", BUYER) is None


@pytest.mark.parametrize(
    ("payer", "currency", "total", "payload", "reason"),
    [
        (BUYER, STARS, 150, "anything else", HoldReason.NO_ORDER),
        (BUYER + 1, STARS, 150, f"stars:month_1:150:{BUYER}", HoldReason.ORDER_MISMATCH),
        (BUYER, STARS, 1799, f"stars:month_12:1799:{BUYER}", HoldReason.ORDER_MISMATCH),
        (BUYER, STARS, 100, f"stars:month_1:100:{BUYER}", HoldReason.AMOUNT_MISMATCH),
        (BUYER, STARS, 149, f"stars:month_1:150:{BUYER}", HoldReason.AMOUNT_MISMATCH),
        (BUYER, "RUB", 150, f"stars:month_1:150:{BUYER}", HoldReason.AMOUNT_MISMATCH),
    ],
)
def test_a_payment_that_is_not_an_invoice_on_sale_is_held_saying_why(
    payer: int, currency: str, total: int, payload: str, reason: HoldReason
) -> None:
    assert mismatch(PLANS, payer, currency, total, payload) == reason
    held = settle(PLANS, StarsPayment(payer, "charge-1", currency, total, payload, AT))
    assert isinstance(held, PaymentHeld)
    assert held.reason == reason


def test_a_held_payment_names_the_plan_its_invoice_claimed() -> None:
    held = settle(PLANS, StarsPayment(BUYER, "c", STARS, 100, f"stars:month_1:100:{BUYER}", AT))
    assert isinstance(held, PaymentHeld)
    assert held.plan == "month_1"


def test_a_refund_takes_back_the_whole_charge() -> None:
    event = refund(BUYER, "charge-7", Decimal(150), AT)
    assert (event.payment_id, event.refund_id, event.provider) == ("charge-7", "charge-7", PROVIDER)
    assert (event.amount, event.currency, event.refunded_at) == (Decimal(150), STARS, AT)


class TestRefundCommand:
    def test_names_a_user_and_a_charge(self) -> None:
        assert RefundOrder.parse(" 42  stxK_a-b9 ") == RefundOrder(42, "stxK_a-b9")

    @pytest.mark.parametrize(
        "args",
        [
            None,
            "",
            "42",
            "42 a b",
            "x42 abc",
            "0 abc",
            "-1 abc",
            "²3 abc",
            "42 a/b",
            "42 " + "a" * 129,
        ],
    )
    def test_anything_else_is_refused(self, args: str | None) -> None:
        assert RefundOrder.parse(args) is None
