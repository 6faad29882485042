"""The weekly cleanup: purge users inactive for long (seed 3.8).

A user qualifies when their access has ended and their last purchase (or, if they never
bought, their registration) is at least the configured age old. The job does not touch
``users``: it asks for the purge with ``UserPurgeRequested`` on ``admin.commands``, and
the processor applies it like an admin's. The request id is derived from the user and
the day, so a job run twice on one day asks once.

It never reads ``users`` by range: the subscription handler files, in ``inactive_due``,
the moment each user will qualify (see :func:`.domain.figures.inactive_from`) whenever
it moves, by day and year (the expiry sweep's schedule, at another scale). The job reads
the days (whole years when far behind) from its cursor up to today, checks each entry
against the user's document by ``_id`` and keeps those who qualify now; a user who does
not qualify yet (the age was raised since filing) is filed again for when they will.
A first run starts in 2015, when Telegram's Bot API opened: no user is older. Users
stored before moments were filed are filed once at start (:meth:`InactiveUsers.backfill`,
again when the age changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.time_buckets import DAYS, INACTIVITY, buckets_to_sweep
from services.subscription.adapters.schedule import Schedule
from services.subscription.adapters.user_reads import UserReads
from services.subscription.domain.cleanup import Candidate, judge, purge_request
from services.subscription.domain.figures import inactive_from

ORIGIN = datetime(2015, 1, 1, tzinfo=UTC)


@dataclass
class Found:
    """What a read of the schedule found, and what :meth:`InactiveUsers.settle` does
    once the purges were requested."""

    candidates: list[Candidate] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)
    refile: list[tuple[int, datetime]] = field(default_factory=list)
    cursor: datetime = ORIGIN


class InactiveUsers:
    def __init__(self, users: UserReads, schedule: Schedule, age: timedelta) -> None:
        self._users = users
        self._schedule = schedule
        self._age = age

    async def find(self, now: datetime) -> Found:
        """Who qualifies at ``now`` (reads only: a dry run stops here)."""
        found = Found(cursor=DAYS.floor(now))
        seen: set[int] = set()
        for bucket in buckets_to_sweep(await self._schedule.cursor() or ORIGIN, now, INACTIVITY):
            for entry in await self._schedule.due(bucket):
                if entry["at"] > now:
                    continue  # later today: read again by the next run
                found.swept.append(entry["_id"])
                user = await self._users.activity(entry["telegram_id"])
                if user is None or user["telegram_id"] in seen:
                    continue
                self._judge(user, now, found)
                seen.add(user["telegram_id"])
        return found

    def _judge(self, user: Document, now: datetime, found: Found) -> None:
        verdict = judge(
            user["telegram_id"],
            user.get("username"),
            user.get("registered_at"),
            user.get("last_purchase_at"),
            user.get("until"),
            now=now,
            age=self._age,
        )
        if isinstance(verdict, Candidate):
            found.candidates.append(verdict)
        elif verdict is not None:  # None: purged or never registered, nothing to wait for
            found.refile.append((user["telegram_id"], verdict))

    async def settle(self, found: Found) -> None:
        """After the purges were requested: file again who qualifies later, forget what
        was read, and start the next run from today."""
        for telegram_id, moment in found.refile:
            await self._schedule.file(telegram_id, moment)
        await self._schedule.forget(found.swept)
        await self._schedule.move_cursor(found.cursor)

    async def backfill(self, now: datetime) -> int:
        """File every registered user's moment (once per database and age, at start: the
        one read of ``users`` by filter, never repeated)."""
        if await self._schedule.backfilled(self._generation):
            return 0
        filed = 0
        async for user in self._users.registered_activity():
            moment = inactive_from(
                user.get("registered_at"),
                user.get("last_purchase_at"),
                user.get("until"),
                self._age,
            )
            if moment is not None:
                await self._schedule.file(user["telegram_id"], moment)
                filed += 1
        await self.mark_backfilled(now)
        return filed

    async def mark_backfilled(self, now: datetime) -> None:
        """Record that every stored user's moment is filed (a seeding tool filed them)."""
        await self._schedule.mark_backfilled(now, self._generation)

    @property
    def _generation(self) -> str:
        """What the backfill depends on: a new cleanup age asks for a new one."""
        return f"age={self._age.total_seconds():g}s"


async def request_purges(
    publisher: EventPublisher, candidates: list[Candidate], now: datetime, age: timedelta
) -> int:
    for candidate in candidates:
        await publisher.publish(purge_request(candidate, now, age))
    return len(candidates)
