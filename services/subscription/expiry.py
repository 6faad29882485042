"""Expiry: one ``SubscriptionExpired`` per (user, until) once access lapses.

The sweeper only reads ``users`` (the agent is their one writer) and remembers what it
announced in ``expiry_marks`` with unique-key inserts. The event id is derived from
(user, until) and its time is ``until`` itself, so a repeated sweep, a second sweeper
or a replay announces the same fact under the same id. It sweeps only once the agent has
caught up with its topics (``caught_up``): a worker reading history again (a replay, a
rebuild) holds state part-way through it, where a user shortened by an admin may not
have the payment that came first yet, and would be announced lapsed.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from events import Envelope, external_event_id
from events.subscriptions import SubscriptionExpired
from keyland.indexes import Owned
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document

PRODUCER = "subscription"


class ExpirySweeper:
    def __init__(
        self,
        users: AsyncCollection[Document],
        marks: AsyncCollection[Document],
        publisher: EventPublisher,
        lookback: timedelta,
        caught_up: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._users = users
        self._marks = marks
        self._publisher = publisher
        self._lookback = lookback
        self._caught_up = caught_up

    def owned(self) -> list[Owned]:
        """``expiry_marks`` only: ``users`` belongs to the agent's adapter."""
        return [Owned(self._marks)]

    async def sweep(self, now: datetime) -> int:
        """Announce every lapse in the lookback window not announced yet; return how many."""
        if self._caught_up is not None and not await self._caught_up():
            return 0
        announced = 0
        query = {"registered": True, "until": {"$lte": now, "$gt": now - self._lookback}}
        async for user in self._users.find(query, {"telegram_id": 1, "until": 1, "key_id": 1}):
            telegram_id: int = user["telegram_id"]
            until: datetime = user["until"]
            mark = f"{telegram_id}:{until.isoformat()}"
            if await self._marks.find_one({"_id": mark}) is not None:
                continue
            current = await self._users.find_one({"_id": user["_id"]}, {"until": 1})
            if current is None or current.get("until") != until:
                continue  # renewed or purged since the query: nothing lapsed
            expired = SubscriptionExpired(
                telegram_id=telegram_id, key_id=uuid.UUID(user["key_id"]), until=until
            )
            await self._publisher.publish(
                Envelope.new(
                    expired,
                    producer=PRODUCER,
                    occurred_at=until,
                    event_id=external_event_id("expiry", mark, expired.event_type),
                )
            )
            with contextlib.suppress(DuplicateKeyError):
                await self._marks.insert_one({"_id": mark, "announced_at": now})
            announced += 1
        return announced
