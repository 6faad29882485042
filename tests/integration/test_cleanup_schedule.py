"""The weekly cleanup reads filed day buckets and users by ``_id``, never a range over
``users`` (real database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.database import Database

from keyland.indexes import ensure_indexes
from keyland.mongo import Document
from keyland.settings import MongoSettings
from keyland.time_buckets import INACTIVITY
from services.subscription.adapters.schedule import Schedule
from services.subscription.adapters.user_reads import UserReads
from services.subscription.domain.figures import inactive_from
from services.subscription.handlers.cleanup import InactiveUsers
from tests.integration.test_expiry_sweep import Filters, equality_only
from tests.user_docs import stored_user

NOW = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
AGE = timedelta(days=182)


@pytest.fixture
def filters() -> Filters:
    return Filters()


@pytest.fixture
async def cleanup(
    mongo_settings: MongoSettings, filters: Filters, db: Database[Document]
) -> AsyncIterator[tuple[InactiveUsers, Schedule]]:
    for name in ("users", "inactive_due"):
        db[name].delete_many({})
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongo_settings.url, tz_aware=True, event_listeners=[filters]
    )
    handle = client[mongo_settings.database]
    schedule = Schedule(handle["inactive_due"], INACTIVITY, clock=lambda: NOW)
    await ensure_indexes(schedule.owned(), mongo_settings.postgres_url)
    yield InactiveUsers(UserReads(handle["users"]), schedule, AGE), schedule
    await client.close()


def seed(
    db: Database[Document],
    telegram_id: int,
    registered_at: datetime,
    until: datetime | None = None,
    last_purchase_at: datetime | None = None,
) -> datetime:
    db.users.replace_one(
        {"_id": f"user:{telegram_id}"},
        stored_user(
            telegram_id, registered=True, registered_at=registered_at, until=until,
            last_purchase_at=last_purchase_at, username=f"u{telegram_id}",
        ),
        upsert=True,
    )  # fmt: skip
    moment = inactive_from(registered_at, last_purchase_at, until, AGE)
    assert moment is not None
    return moment


async def test_candidates_come_from_filed_days_checked_by_id(
    cleanup: tuple[InactiveUsers, Schedule], db: Database[Document], filters: Filters
) -> None:
    job, schedule = cleanup
    long_ago = NOW - timedelta(days=400)
    await schedule.file(1, seed(db, 1, long_ago, until=long_ago + timedelta(days=30)))
    await schedule.file(2, seed(db, 2, NOW - timedelta(days=10)))  # too recent
    filed = seed(db, 3, long_ago)
    await schedule.file(3, filed)
    seed(db, 3, long_ago, until=NOW + timedelta(days=5), last_purchase_at=long_ago)  # renewed

    dry = await job.find(NOW)
    assert [c.telegram_id for c in dry.candidates] == [1]
    assert await job.find(NOW) == dry  # a dry run changes nothing
    assert filters.seen
    assert all(equality_only(f) for _, f in filters.seen), filters.seen
    assert {c for c, _ in filters.seen} == {"inactive_due", "users"}

    await job.settle(dry)
    assert [e["telegram_id"] for e in db.inactive_due.find({"telegram_id": 3})] == [3]
    again = await job.find(NOW + timedelta(days=1))
    assert again.candidates == []
    later = await job.find(NOW + timedelta(days=6))  # user 3's access has ended by then
    assert [c.telegram_id for c in later.candidates] == [3]


async def test_a_first_run_reads_from_2015_and_then_only_the_days_since(
    cleanup: tuple[InactiveUsers, Schedule], filters: Filters
) -> None:
    job, _ = cleanup
    first = await job.find(NOW)
    assert len([c for c, _ in filters.seen if c == "inactive_due"]) == 11 + 336 + 1  # cursor
    await job.settle(first)
    filters.seen.clear()
    await job.find(NOW + timedelta(days=7))
    assert len([c for c, _ in filters.seen if c == "inactive_due"]) == 1 + 8
