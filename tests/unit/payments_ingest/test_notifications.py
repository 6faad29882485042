from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.payments_ingest.domain.notifications import (
    NotCreditable,
    Plan,
    canceled,
    refunded,
    succeeded,
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


class TestSucceeded:
    def test_confirmed_payment_with_metadata_is_credited(self) -> None:
        event = succeeded(payment(), PLANS, AT)
        assert (event.telegram_id, event.plan, event.months, event.amount) == (
            100200300,
            "month_3",
            3,
            Decimal("549.00"),
        )

    def test_payment_without_metadata_uses_the_seed_description_and_price(self) -> None:
        legacy = payment(
            metadata={},
            description="Оплата VPN, пользователь номер: 42",
            amount={"value": "199.00", "currency": "RUB"},
        )
        event = succeeded(legacy, PLANS, AT)
        assert (event.telegram_id, event.plan, event.months) == (42, "month_1", 1)

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
            succeeded(payment(status=status, paid=paid), PLANS, AT)
        assert refusal.value.retry is retry

    def test_payment_naming_no_user_is_refused(self) -> None:
        with pytest.raises(NotCreditable, match="no Telegram user"):
            succeeded(payment(metadata={"plan": "month_1"}, description="something"), PLANS, AT)

    def test_unknown_plan_is_refused(self) -> None:
        with pytest.raises(NotCreditable, match="unknown plan"):
            succeeded(payment(metadata={"telegram_id": "5", "plan": "lifetime"}), PLANS, AT)

    def test_amount_matching_no_plan_is_refused(self) -> None:
        with pytest.raises(NotCreditable, match="no single plan"):
            succeeded(
                payment(
                    metadata={},
                    description="пользователь номер: 5",
                    amount={"value": "1.00", "currency": "RUB"},
                ),
                PLANS,
                AT,
            )


def test_canceled_payment_carries_the_reason() -> None:
    event = canceled(
        payment(
            status="canceled",
            paid=False,
            cancellation_details={"reason": "expired_on_confirmation"},
        )
    )
    assert event.reason == "expired_on_confirmation"


def test_refund_of_another_payment_is_refused() -> None:
    refund = {
        "id": "r1",
        "status": "succeeded",
        "payment_id": "other",
        "amount": {"value": "1.00", "currency": "RUB"},
    }
    with pytest.raises(NotCreditable, match="another payment"):
        refunded(refund, payment(), AT)


def test_succeeded_refund_is_an_event() -> None:
    refund = {
        "id": "r1",
        "status": "succeeded",
        "payment_id": payment()["id"],
        "amount": {"value": "100.00", "currency": "RUB"},
    }
    event = refunded(refund, payment(), AT)
    assert (event.refund_id, event.amount, event.telegram_id) == (
        "r1",
        Decimal("100.00"),
        100200300,
    )
