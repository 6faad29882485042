from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from events.payments import (
    GiftPurchased,
    HeldPaymentRefunded,
    HoldReason,
    PaymentCanceled,
    PaymentHeld,
    PaymentSucceeded,
    RefundSucceeded,
    RenewalDeclined,
)
from services.payments_ingest.domain.notifications import (
    NotCreditable,
    Order,
    Plan,
    Renewal,
    canceled,
    new_gift_code,
    refunded,
    saved_method,
    settle,
)

PLANS = {
    "month_1": Plan("month_1", 1, Decimal("199.00"), "RUB"),
    "month_3": Plan("month_3", 3, Decimal("549.00"), "RUB"),
}
AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def payment(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "2f5a0e6b-000f-5000-8000-1c3f2e5d7a90",
        "status": "succeeded",
        "paid": True,
        "amount": {"value": "549.00", "currency": "RUB"},
        "metadata": {"telegram_id": "100200300", "plan": "month_3"},
        "description": "Keyland month_3",
    }
    return {**base, **changes}


ORDER = Order("0b8e5a43-6f0e-5d7c-9a1b-3c2d4e5f6a7b", 100200300, PLANS["month_3"])


def ordered(**changes: Any) -> dict[str, Any]:
    """Our payment for ORDER, as POST /payments creates it; ``changes`` override."""
    metadata = {"telegram_id": "100200300", "plan": "month_3", "order_id": ORDER.order_id}
    return payment(metadata=metadata, **changes)


class TestSettle:
    def test_our_order_paid_in_full_is_credited_as_its_plan(self) -> None:
        event = settle(ordered(), ORDER, AT)
        assert isinstance(event, PaymentSucceeded)
        assert (event.telegram_id, event.plan, event.months, event.amount) == (
            100200300,
            "month_3",
            3,
            Decimal("549.00"),
        )

    def test_one_rouble_claiming_twelve_months_without_an_order_is_held(self) -> None:
        cheap = payment(
            amount={"value": "1.00", "currency": "RUB"},
            metadata={"telegram_id": "42", "plan": "month_12"},
        )
        event = settle(cheap, None, AT)
        assert isinstance(event, PaymentHeld)
        assert (event.telegram_id, event.plan, event.amount, event.reason) == (
            42,
            "month_12",
            Decimal("1.00"),
            HoldReason.NO_ORDER,
        )
        assert event.metadata == {"telegram_id": "42", "plan": "month_12"}

    def test_our_order_paid_with_less_is_held(self) -> None:
        event = settle(ordered(amount={"value": "1.00", "currency": "RUB"}), ORDER, AT)
        assert isinstance(event, PaymentHeld)
        assert (event.reason, event.telegram_id, event.plan) == (
            HoldReason.AMOUNT_MISMATCH,
            100200300,
            "month_3",
        )

    def test_our_order_paid_in_another_currency_is_held(self) -> None:
        event = settle(ordered(amount={"value": "549.00", "currency": "USD"}), ORDER, AT)
        assert isinstance(event, PaymentHeld)
        assert event.reason is HoldReason.AMOUNT_MISMATCH

    def test_metadata_naming_another_user_or_plan_than_the_order_is_held(self) -> None:
        for changed in ({"telegram_id": "7"}, {"plan": "month_1"}):
            metadata = {**ordered()["metadata"], **changed}
            event = settle(payment(metadata=metadata), ORDER, AT)
            assert isinstance(event, PaymentHeld)
            assert event.reason is HoldReason.ORDER_MISMATCH

    def test_our_gift_order_paid_in_full_is_a_gift_not_the_buyers_time(self) -> None:
        code = new_gift_code()
        gift = Order(ORDER.order_id, ORDER.telegram_id, ORDER.plan, gift_code=code)
        event = settle(payment(metadata={**ordered()["metadata"], "gift": code}), gift, AT)
        assert isinstance(event, GiftPurchased)
        assert (event.telegram_id, event.code, event.plan, event.months) == (
            100200300,
            code,
            "month_3",
            3,
        )
        assert event.partition_key() == code

    def test_a_gift_and_a_plan_for_oneself_are_not_taken_for_each_other(self) -> None:
        gift = Order(ORDER.order_id, ORDER.telegram_id, ORDER.plan, gift_code=new_gift_code())
        for order, metadata in (
            (gift, ordered()["metadata"]),
            (ORDER, {**ordered()["metadata"], "gift": new_gift_code()}),
            (gift, {**ordered()["metadata"], "gift": new_gift_code()}),
        ):
            event = settle(payment(metadata=metadata), order, AT)
            assert isinstance(event, PaymentHeld)
            assert event.reason is HoldReason.ORDER_MISMATCH

    def test_gift_codes_are_long_and_differ(self) -> None:
        codes = {new_gift_code() for _ in range(1000)}
        assert len(codes) == 1000
        assert all(len(code) == 32 and code.isalnum() and code.isupper() for code in codes)

    def test_seed_style_payment_is_held_for_the_user_its_description_names(self) -> None:
        legacy = payment(metadata={}, description="Оплата VPN, пользователь номер: 42")
        event = settle(legacy, None, AT)
        assert isinstance(event, PaymentHeld)
        assert (event.telegram_id, event.plan) == (42, None)

    def test_payment_naming_no_user_is_held_for_nobody(self) -> None:
        event = settle(payment(metadata={"plan": "month_1"}, description="something"), None, AT)
        assert isinstance(event, PaymentHeld)
        assert event.telegram_id is None
        assert event.partition_key() == event.payment_id

    @pytest.mark.parametrize(
        ("status", "paid", "retry"),
        [
            ("pending", False, True),
            ("waiting_for_capture", True, True),
            ("canceled", False, False),
            ("succeeded", False, False),
        ],
    )
    def test_payment_the_api_does_not_confirm_is_refused(
        self, status: str, paid: bool, retry: bool
    ) -> None:
        with pytest.raises(NotCreditable) as refusal:
            settle(ordered(status=status, paid=paid), ORDER, AT)
        assert refusal.value.retry is retry


def test_canceled_payment_carries_the_reason() -> None:
    event = canceled(
        payment(
            status="canceled",
            paid=False,
            cancellation_details={"reason": "expired_on_confirmation"},
        ),
        None,
    )
    assert isinstance(event, PaymentCanceled)
    assert event.reason == "expired_on_confirmation"


class TestRenewals:
    RENEWAL = Renewal(datetime(2026, 12, 27, 9, 30, 0, 123456, tzinfo=UTC), 2, "method-1")

    def test_a_declined_renewal_is_told_as_such_with_its_period_and_attempt(self) -> None:
        order = replace(ORDER, renewal=self.RENEWAL)
        event = canceled(
            ordered(status="canceled", paid=False, cancellation_details={"reason": "card_expired"}),
            order,
        )
        assert isinstance(event, RenewalDeclined)
        assert (event.telegram_id, event.period_end, event.attempt, event.reason) == (
            100200300,
            self.RENEWAL.period_end,
            2,
            "card_expired",
        )

    def test_a_paid_renewal_credits_its_plan_like_any_order(self) -> None:
        order = replace(ORDER, renewal=self.RENEWAL)
        event = settle(ordered(), order, AT)
        assert isinstance(event, PaymentSucceeded)
        assert saved_method(ordered(payment_method=SAVED), event, order) is None

    def test_an_order_that_asked_to_save_tells_the_saved_method(self) -> None:
        order = replace(ORDER, save_method=True)
        paid = ordered(payment_method=SAVED)
        saved = saved_method(paid, settle(paid, order, AT), order)
        assert saved is not None
        assert (saved.telegram_id, saved.method_id, saved.plan, saved.saved_at) == (
            100200300,
            "method-1",
            "month_3",
            AT,
        )

    @pytest.mark.parametrize(
        "method",
        [
            None,
            {"id": "method-1", "saved": False},
            {"saved": True},
            {"id": "x" * 65, "saved": True},
        ],
    )
    def test_no_saved_method_no_event(self, method: dict[str, Any] | None) -> None:
        order = replace(ORDER, save_method=True)
        paid = ordered(payment_method=method)
        assert saved_method(paid, settle(paid, order, AT), order) is None

    def test_a_held_payment_saves_nothing_for_us(self) -> None:
        order = replace(ORDER, save_method=True)
        paid = ordered(payment_method=SAVED, amount={"value": "1.00", "currency": "RUB"})
        held = settle(paid, order, AT)
        assert isinstance(held, PaymentHeld)
        assert saved_method(paid, held, order) is None


SAVED = {"type": "bank_card", "id": "method-1", "saved": True}


def test_refund_of_another_payment_is_refused() -> None:
    refund = {
        "id": "r1",
        "status": "succeeded",
        "payment_id": "other",
        "amount": {"value": "1.00", "currency": "RUB"},
    }
    with pytest.raises(NotCreditable, match="another payment"):
        refunded(refund, payment(), None, AT)


def test_succeeded_refund_is_an_event() -> None:
    refund = {
        "id": "r1",
        "status": "succeeded",
        "payment_id": payment()["id"],
        "amount": {"value": "100.00", "currency": "RUB"},
    }
    event = refunded(refund, payment(), None, AT)
    assert isinstance(event, RefundSucceeded)
    assert (event.refund_id, event.amount, event.telegram_id) == (
        "r1",
        Decimal("100.00"),
        100200300,
    )


def full_refund_of(paid: dict[str, Any]) -> dict[str, Any]:
    return {"id": "r2", "status": "succeeded", "payment_id": paid["id"], "amount": paid["amount"]}


def test_refund_of_a_payment_naming_nobody_closes_the_held_payment_by_its_id() -> None:
    anonymous = payment(metadata={"note": "from the dashboard"}, description="")
    assert isinstance(settle(anonymous, None, AT), PaymentHeld)
    event = refunded(full_refund_of(anonymous), anonymous, None, AT)
    assert isinstance(event, HeldPaymentRefunded)
    assert (event.payment_id, event.refund_id, event.amount) == (
        anonymous["id"],
        "r2",
        Decimal("549.00"),
    )
    assert event.partition_key() == anonymous["id"]  # where its PaymentHeld went


def test_refund_names_the_user_the_payment_was_settled_for() -> None:
    # The order's user, as settle() named them, not whoever the metadata names now.
    metadata = {"telegram_id": "555", "plan": "month_3", "order_id": ORDER.order_id}
    other = payment(metadata=metadata)
    held = settle(other, ORDER, AT)
    assert isinstance(held, PaymentHeld)
    event = refunded(full_refund_of(other), other, ORDER, AT)
    assert isinstance(event, RefundSucceeded)
    assert event.telegram_id == held.telegram_id == ORDER.telegram_id
