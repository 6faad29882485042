"""Alerts for the shop's owners: money that came in but was not credited as a plan, and
payments that failed or were canceled (so a buyer who could not pay is not left unseen).

Sent to every id of ``KEYLAND_NOTIFIER_ALERT_IDS`` (the bot's admins); each alert's id is
derived from its cause and the admin, so a redelivered event alerts nobody twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from events import Envelope, Event
from events.payments import PaymentCanceled, PaymentHeld
from events.subscriptions import CreditHeld
from services.notifier.domain.notices import Kind, Notice

NOBODY = "—"


def _metadata(metadata: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(metadata.items())) or NOBODY


def alerts(envelope: Envelope[Event], admin_ids: Sequence[int]) -> list[Notice]:
    """The alerts an event implies (none for events the owners need not hear of)."""
    event = envelope.payload
    match event:
        case PaymentHeld():
            kind = Kind.PAYMENT_HELD
            values: dict[str, str | int] = {
                "payment_id": event.payment_id,
                "amount": f"{event.amount} {event.currency}",
                "telegram_id": event.telegram_id or NOBODY,
                "plan": event.plan or NOBODY,
                "reason": str(event.reason),
                "metadata": _metadata(event.metadata),
            }
        case CreditHeld():
            kind = Kind.CREDIT_HELD
            values = {
                "payment_id": event.payment_id,
                "amount": f"{event.amount} {event.currency}",
                "telegram_id": event.telegram_id,
                "plan": event.plan,
            }
        case PaymentCanceled():
            kind = Kind.CANCELED_ALERT
            values = {
                "payment_id": f"{event.provider}:{event.payment_id}",
                "telegram_id": event.telegram_id,
                "reason": event.reason or NOBODY,
            }
        case _:
            return []
    return [
        Notice(
            f"{envelope.event_id}:{kind}:{admin}", admin, kind, envelope.occurred_at, None, values
        )
        for admin in admin_ids
    ]
