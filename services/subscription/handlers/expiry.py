"""Expiry: one ``SubscriptionExpired`` per (user, until) once access lapses.

The sweeper reads the lapses filed in ``expiry_due`` (see
:mod:`..adapters.schedule`) bucket by bucket from its cursor, never a range over
``users``; it checks each against the user's current document (the agent is its one
writer) and remembers what it announced in ``expiry_marks`` with unique-key inserts. The
event id is derived from (user, until) and its time is ``until`` itself, so a repeated
sweep, a second sweeper or a replay announces the same fact under the same id. It sweeps
only once the agent has caught up with its topics (``caught_up``): a worker reading
history again (a replay, a rebuild) holds state part-way through it, where a user
shortened by an admin may not have the payment that came first yet, and would be
announced lapsed. A first sweep (no cursor) looks back ``lookback``. With several
instances of the worker, one sweeps at a time: the one whose ``turn`` it is (see
:mod:`keyland.turns`); the others would only announce the same facts again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from events import Envelope, external_event_id
from events.subscriptions import SubscriptionExpired
from keyland.kafka.producer import EventPublisher
from keyland.time_buckets import buckets_to_sweep, floor_minute
from services.subscription.adapters.expiry_marks import ExpiryMarks
from services.subscription.adapters.schedule import Schedule
from services.subscription.adapters.user_reads import UserReads

PRODUCER = "subscription"


Act = Callable[[int, datetime, datetime], Awaitable[int]]
Gate = Callable[[], Awaitable[bool]]
Turn = Callable[[datetime], Awaitable[bool]]


async def sweep_schedule(schedule: Schedule, now: datetime, lookback: timedelta, act: Act) -> int:
    """Act on every entry filed up to ``now`` (``act(telegram_id, at, now)``, which says
    how many it announced), forget it, and move the cursor past the spans swept to
    their end; a first sweep (no cursor) starts ``lookback`` ago."""
    cursor = await schedule.cursor() or floor_minute(now - lookback)
    announced, start = 0, cursor
    for bucket in buckets_to_sweep(cursor, now):
        swept: list[str] = []
        for entry in await schedule.due(bucket):
            if entry["at"] > now:
                continue  # later in the current minute
            announced += await act(entry["telegram_id"], entry["at"], now)
            swept.append(entry["_id"])
        await schedule.forget(swept)
        if bucket.end <= floor_minute(now):
            cursor = bucket.end
    if cursor != start:
        await schedule.move_cursor(cursor)
    return announced


class ScheduleSweeper:
    """Acts on every entry of one schedule filed up to now (:meth:`_announce`), once the
    agent has caught up with its topics, when it is this instance's turn."""

    def __init__(
        self,
        users: UserReads,
        schedule: Schedule,
        publisher: EventPublisher,
        *,
        lookback: timedelta,
        caught_up: Gate | None = None,
        turn: Turn | None = None,
    ) -> None:
        self._users = users
        self._schedule = schedule
        self._publisher = publisher
        self._lookback = lookback
        self._caught_up = caught_up
        self._turn = turn

    async def sweep(self, now: datetime) -> int:
        """Act on every entry filed up to ``now``; return how many were announced."""
        if self._turn is not None and not await self._turn(now):
            return 0
        if self._caught_up is not None and not await self._caught_up():
            return 0
        return await sweep_schedule(self._schedule, now, self._lookback, self._announce)

    async def _announce(self, telegram_id: int, at: datetime, now: datetime) -> int:
        raise NotImplementedError


class ExpirySweeper(ScheduleSweeper):
    def __init__(
        self,
        users: UserReads,
        marks: ExpiryMarks,
        schedule: Schedule,
        publisher: EventPublisher,
        *,
        lookback: timedelta,
        caught_up: Gate | None = None,
        turn: Turn | None = None,
    ) -> None:
        super().__init__(
            users, schedule, publisher, lookback=lookback, caught_up=caught_up, turn=turn
        )
        self._marks = marks

    async def backfill(self, now: datetime) -> int:
        """File the lapses of users stored before lapses were filed (once per database,
        at start: the one read of ``users`` by range, never repeated)."""
        if await self._schedule.backfilled():
            return 0
        filed = 0
        async for user in self._users.registered_until_after(now - self._lookback):
            await self._schedule.file(user["telegram_id"], user["until"])
            filed += 1
        await self._schedule.mark_backfilled(now)
        return filed

    async def _announce(self, telegram_id: int, until: datetime, now: datetime) -> int:
        mark = f"{telegram_id}:{until.isoformat()}"
        if await self._marks.announced(mark):
            return 0
        current = await self._users.lapse(telegram_id)
        if current is None or not current.get("registered") or current.get("until") != until:
            return 0  # renewed, shortened again or purged since it was filed
        expired = SubscriptionExpired(
            telegram_id=telegram_id, key_id=uuid.UUID(current["key_id"]), until=until
        )
        await self._publisher.publish(
            Envelope.new(
                expired,
                producer=PRODUCER,
                occurred_at=until,
                event_id=external_event_id("expiry", mark, expired.event_type),
            )
        )
        await self._marks.remember(mark, now)
        return 1
