"""Payers who sent /start first, for drivers that pay without going through the bot.

Only a user's own /start registers them, and money paid for an id that never started is
held as credit (and the admins alerted) instead of extending access. A driver that means
ordinary paying customers publishes their ``UserStarted`` the way the bot does and waits
until the subscription worker registered them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from pymongo.database import Database

from events import Envelope
from events.bot_actions import UserStarted
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.settings import KafkaSettings
from tests.user_docs import user_doc


async def publish_starts(kafka: KafkaSettings, telegram_ids: Iterable[int]) -> None:
    """Each user's /start, as the bot publishes it."""
    publisher = EventPublisher.from_settings(kafka, client_id="starts")
    try:
        now = datetime.now(UTC)
        await publisher.publish_many(
            [
                Envelope.new(UserStarted(telegram_id=t), producer="bot", occurred_at=now)
                for t in telegram_ids
            ]
        )
    finally:
        await publisher.close()


async def wait_registered(
    db: Database[Document], telegram_ids: Iterable[int], timeout_s: float = 300
) -> None:
    """Until every user is registered (one lookup by ``_id`` per user still waited for)."""
    waiting, deadline = set(telegram_ids), time.monotonic() + timeout_s

    def still_waiting() -> set[int]:
        return {t for t in waiting if user_doc(db, t).get("registered") is not True}

    while waiting := await asyncio.to_thread(still_waiting):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(waiting)} users not registered after {timeout_s:.0f} s")
        await asyncio.sleep(0.5)


async def started(
    kafka: KafkaSettings, db: Database[Document], telegram_ids: list[int], timeout_s: float = 300
) -> None:
    """The users' /start published and applied."""
    await publish_starts(kafka, telegram_ids)
    await wait_registered(db, telegram_ids, timeout_s)
