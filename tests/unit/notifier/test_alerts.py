"""Held money alerts every configured owner, once per event (pure: no fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from events import Envelope
from events.payments import HoldReason, PaymentCanceled, PaymentHeld
from events.subscriptions import CreditHeld, UserRegistered
from services.notifier.adapters.rendering import notice_text
from services.notifier.domain.alerts import alerts
from services.notifier.domain.notices import Kind

AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
HELD = PaymentHeld(
    telegram_id=42,
    payment_id="pay-1",
    amount=Decimal("1.00"),
    currency="RUB",
    plan="month_12",
    metadata={"telegram_id": "42", "plan": "month_12"},
    reason=HoldReason.NO_ORDER,
    paid_at=AT,
)


def test_held_payment_alerts_each_admin_with_id_amount_and_metadata() -> None:
    envelope = Envelope.new(HELD, producer="payments_ingest", occurred_at=AT)
    told = alerts(envelope, [7, 8])
    assert [(n.telegram_id, n.kind) for n in told] == [
        (7, Kind.PAYMENT_HELD),
        (8, Kind.PAYMENT_HELD),
    ]
    assert len({n.id for n in told}) == 2
    text = notice_text(told[0], "en", AT)
    assert "pay-1" in text
    assert "1.00 RUB" in text
    assert "plan=month_12" in text


def test_the_same_event_gives_the_same_alerts() -> None:
    envelope = Envelope.new(HELD, producer="payments_ingest", occurred_at=AT)
    assert alerts(envelope, [7]) == alerts(envelope, [7])


def test_credit_for_someone_who_never_started_alerts_the_owner() -> None:
    held = CreditHeld(
        telegram_id=42, payment_id="yookassa:p", plan="month_1", months=1,
        amount=Decimal("199.00"), currency="RUB",
    )  # fmt: skip
    told = alerts(Envelope.new(held, producer="subscription", occurred_at=AT), [7])
    assert [(n.telegram_id, n.kind) for n in told] == [(7, Kind.CREDIT_HELD)]
    assert "42" in notice_text(told[0], "ru", AT)


def test_a_canceled_payment_alerts_each_admin_with_the_payment_and_user() -> None:
    canceled = PaymentCanceled(telegram_id=42, payment_id="pay-9", reason="card_expired")
    told = alerts(Envelope.new(canceled, producer="payments_ingest", occurred_at=AT), [7, 8])
    assert [(n.telegram_id, n.kind) for n in told] == [
        (7, Kind.CANCELED_ALERT),
        (8, Kind.CANCELED_ALERT),
    ]
    text = notice_text(told[0], "en", AT)
    assert "yookassa:pay-9" in text
    assert "42" in text
    assert "card_expired" in text


def test_other_events_and_no_admins_alert_nobody() -> None:
    registered = UserRegistered(telegram_id=42, key_id="0b8e5a43-6f0e-4d7c-9a1b-3c2d4e5f6a7b")
    assert alerts(Envelope.new(registered, producer="s", occurred_at=AT), [7]) == []
    assert alerts(Envelope.new(HELD, producer="p", occurred_at=AT), []) == []
