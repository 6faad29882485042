"""The weekly cleanup: purge users inactive for long (seed 3.8).

A user qualifies when their access has ended and their last purchase (or, if they never
bought, their registration) is older than the configured age. The job does not touch
``users``: it asks for the purge with ``UserPurgeRequested`` on ``admin.commands``, and
the processor applies it like an admin's. The request id is derived from the user and
the day, so a job run twice on one day asks once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection

from events import Envelope, external_event_id
from events.admin_commands import UserPurgeRequested
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document


@dataclass(frozen=True)
class Candidate:
    telegram_id: int
    username: str | None
    last_activity: datetime


async def inactive_users(
    users: AsyncCollection[Document], now: datetime, age: timedelta
) -> list[Candidate]:
    cutoff = now - age
    query = {
        "registered": True,
        "$and": [
            {"$or": [{"until": None}, {"until": {"$lte": now}}]},
            {
                "$or": [
                    {"last_purchase_at": {"$lt": cutoff}},
                    {"last_purchase_at": None, "registered_at": {"$lt": cutoff}},
                ]
            },
        ],
    }
    found = []
    fields = {"telegram_id": 1, "username": 1, "last_purchase_at": 1, "registered_at": 1}
    async for user in users.find(query, fields):
        found.append(
            Candidate(
                telegram_id=user["telegram_id"],
                username=user.get("username"),
                last_activity=user.get("last_purchase_at") or user["registered_at"],
            )
        )
    return found


async def request_purges(
    publisher: EventPublisher, candidates: list[Candidate], now: datetime, age: timedelta
) -> int:
    for candidate in candidates:
        request = UserPurgeRequested(
            telegram_id=candidate.telegram_id,
            reason=f"inactive since {candidate.last_activity:%Y-%m-%d} (over {age.days} days)",
        )
        await publisher.publish(
            Envelope.new(
                request,
                producer="subscription-cleanup",
                occurred_at=now,
                event_id=external_event_id(
                    "cleanup", f"{candidate.telegram_id}:{now:%Y-%m-%d}", request.event_type
                ),
            )
        )
    return len(candidates)
