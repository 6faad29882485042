"""Any amount, currency, plan and user a paid payment claims: only the exact match of
our order is credited, and every paid payment is either credited or held."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from events.payments import PaymentHeld, PaymentSucceeded
from keyland.plans import DEFAULT_PLANS
from services.payments_ingest.domain.notifications import Order, Plan, settle

PLANS = {
    name: Plan(name, spec.months, spec.price, spec.currency, spec.days)
    for name, spec in DEFAULT_PLANS.items()
}
AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
PRICES = [plan.price for plan in PLANS.values()]

orders = st.builds(
    Order,
    order_id=st.uuids().map(str),
    telegram_id=st.integers(1, 2**40),
    plan=st.sampled_from(list(PLANS.values())),
)
amounts = st.sampled_from([*PRICES, Decimal("1.00"), Decimal("0.00")]) | st.decimals(
    min_value=0, max_value=100_000, places=2
)
currencies = st.sampled_from(["RUB", "USD", "EUR"])


@st.composite
def paid_payments(draw: st.DrawFn, order: Order) -> dict[str, Any]:
    """A paid payment that names ``order`` (or another one), with any user and plan."""
    metadata = {
        "telegram_id": str(draw(st.sampled_from([order.telegram_id, order.telegram_id + 1]))),
        "plan": draw(st.sampled_from([order.plan.name, *PLANS, "lifetime"])),
        "order_id": order.order_id,
    }
    return {
        "id": draw(st.uuids()).hex,
        "status": "succeeded",
        "paid": True,
        "amount": {"value": str(draw(amounts)), "currency": draw(currencies)},
        "metadata": draw(
            st.fixed_dictionaries({}, optional={k: st.just(v) for k, v in metadata.items()})
        ),
    }


@settings(max_examples=500, deadline=None)
@given(orders, st.data(), st.booleans())
def test_only_the_exact_match_of_our_order_is_credited(
    order: Order, data: st.DataObject, order_found: bool
) -> None:
    payment = data.draw(paid_payments(order))
    event = settle(payment, order if order_found else None, AT)
    value, currency = Decimal(payment["amount"]["value"]), payment["amount"]["currency"]
    metadata = payment["metadata"]
    exact = (
        order_found
        and value == order.plan.price
        and currency == order.plan.currency
        and metadata.get("telegram_id") == str(order.telegram_id)
        and metadata.get("plan") == order.plan.name
    )
    assert isinstance(event, PaymentSucceeded) is exact
    if isinstance(event, PaymentSucceeded):
        assert (event.telegram_id, event.plan, event.months, event.days) == (
            order.telegram_id,
            order.plan.name,
            order.plan.months,
            order.plan.days,
        )
    else:  # nothing lost: the held payment carries what was paid and what it claimed
        assert isinstance(event, PaymentHeld)
        assert (event.payment_id, event.amount, event.currency) == (
            payment["id"],
            value,
            currency,
        )
        assert event.metadata == metadata
