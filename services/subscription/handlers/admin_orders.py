"""Admins' orders through the admin API: each one is the admin command the bot's admin
menu publishes for the same change, on ``admin.commands``; the subscription processor
applies it later, so the API can only say the order was taken (its event id).

An order placed with an idempotency key has an event id derived from the key, the user
and the command, so repeating the request (a retry after a lost answer) publishes the
same event again, which the processor applies once. Reusing a key for a different order
of the same command on the same user is the same order: the first one counts.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from events import Envelope, Event
from events.ids import external_event_id
from keyland.kafka.producer import EventPublisher

PRODUCER = "subscription-api"
IDEMPOTENCY_SOURCE = "admin-api"


def order_event_id(idempotency_key: str | None, telegram_id: int, command: Event) -> uuid.UUID:
    """The order's event id: derived from ``idempotency_key`` when given, else new."""
    if idempotency_key is None:
        return uuid.uuid4()
    return external_event_id(
        IDEMPOTENCY_SOURCE, f"{telegram_id}:{idempotency_key}", command.event_type
    )


class AdminOrders:
    """Publishes admins' commands; fails with ``PublishFailed`` when Kafka does not take it."""

    def __init__(self, publisher: EventPublisher) -> None:
        self.publisher = publisher

    async def place(
        self, command: Event, telegram_id: int, idempotency_key: str | None, now: datetime
    ) -> uuid.UUID:
        envelope = Envelope.new(
            command,
            producer=PRODUCER,
            occurred_at=now,
            event_id=order_event_id(idempotency_key, telegram_id, command),
        )
        await self.publisher.publish(envelope)
        return envelope.event_id
