"""Publishing what users and admins did, with ids that survive a redelivered update.

An event caused by a Telegram update gets ``uuid5`` of the bot, the update id and the
event type, so an update handled twice (a crash before polling confirmed it, a webhook
retried) yields the same event and consumers drop the copy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiogram.types import Update

from events import Envelope, Event, external_event_id
from keyland.kafka.producer import EventPublisher, PublishFailed

log = logging.getLogger(__name__)

PRODUCER = "bot"


def update_origin(update: Update) -> str:
    return f"update:{update.update_id}"


def stars_origin(charge_id: str) -> str:
    """A Stars payment's events come from its charge: the same whatever update (or admin
    command) reports it, so a payment credits once and a refund takes back once."""
    return f"stars:{charge_id}"


class BotEvents:
    def __init__(
        self,
        publisher: EventPublisher,
        bot_id: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._publisher = publisher
        self._bot_id = bot_id
        self._clock = clock

    async def publish(self, payload: Event, origin: str) -> Envelope[Event]:
        """Publish ``payload`` caused by ``origin`` (see :func:`update_origin`); returns
        once Kafka acknowledged, or raises ``PublishFailed``."""
        envelope: Envelope[Event] = Envelope.new(
            payload,
            producer=PRODUCER,
            occurred_at=self._clock(),
            event_id=external_event_id("telegram", f"{self._bot_id}:{origin}", payload.event_type),
        )
        await self._publisher.publish(envelope)
        return envelope

    async def connect(self) -> None:
        """Connect early so the first user does not wait; a Kafka outage now is only
        logged (each publish retries the connection and tells the user if it fails)."""
        try:
            await self._publisher.start()
        except PublishFailed as error:
            log.warning("Kafka not reachable at start-up: %s", error)

    async def close(self) -> None:
        await self._publisher.close()
