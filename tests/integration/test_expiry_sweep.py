"""The expiry sweep reads filed lapses by equality on indexed keys, never a range over
``users``, and announces each lapse once (real database and Kafka)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.database import Database

from keyland.indexes import ensure_indexes
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.settings import MongoSettings
from services.subscription.adapters.expiry_marks import ExpiryMarks
from services.subscription.adapters.schedule import Schedule
from services.subscription.adapters.user_reads import UserReads
from services.subscription.handlers.expiry import ExpirySweeper
from tests.user_docs import stored_user

NOW = datetime(2026, 12, 2, 14, 30, 20, tzinfo=UTC)


class Filters(monitoring.CommandListener):
    """The filters of every ``find`` and ``count`` sent, by collection."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("find", "count", "aggregate"):
            command = event.command
            self.seen.append((command[event.command_name], dict(command.get("filter", {}))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def filters() -> Filters:
    return Filters()


@pytest.fixture
async def sweeper(
    mongo_settings: MongoSettings,
    publisher: EventPublisher,
    filters: Filters,
    db: Database[Document],
) -> AsyncIterator[tuple[ExpirySweeper, Schedule]]:
    for name in ("users", "expiry_due", "expiry_marks"):
        db[name].delete_many({})
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongo_settings.url, tz_aware=True, event_listeners=[filters]
    )
    handle = client[mongo_settings.database]
    schedule = Schedule(handle["expiry_due"], clock=lambda: NOW)
    await ensure_indexes(schedule.owned(), mongo_settings.postgres_url)
    yield (
        ExpirySweeper(
            UserReads(handle["users"]),
            ExpiryMarks(handle["expiry_marks"]),
            schedule,
            publisher,
            lookback=timedelta(days=30),
        ),
        schedule,
    )
    await client.close()


def seed(db: Database[Document], telegram_id: int, until: datetime) -> None:
    db.users.replace_one(
        {"_id": f"user:{telegram_id}"},
        stored_user(telegram_id, registered=True, until=until, key_id=str(uuid.uuid4())),
        upsert=True,
    )


def equality_only(filter_: dict[str, Any]) -> bool:
    return all(not key.startswith("$") and not isinstance(v, dict) for key, v in filter_.items())


async def test_filed_lapses_are_announced_once_and_only_when_due(
    sweeper: tuple[ExpirySweeper, Schedule], db: Database[Document], filters: Filters
) -> None:
    sweep, schedule = sweeper
    lapsed, later, renewed = NOW - timedelta(days=2), NOW + timedelta(seconds=20), NOW
    for telegram_id, until in ((1, lapsed), (2, later), (3, renewed - timedelta(hours=3))):
        seed(db, telegram_id, until)
        await schedule.file(telegram_id, until)
    seed(db, 3, NOW + timedelta(days=30))  # renewed after its lapse was filed

    assert await sweep.sweep(NOW) == 1
    assert [m["_id"] for m in db.expiry_marks.find()] == [f"1:{lapsed.isoformat()}"]
    assert await sweep.sweep(NOW) == 0  # announced once
    assert await sweep.sweep(NOW + timedelta(seconds=30)) == 1  # user 2's moment came
    assert db.expiry_marks.count_documents({}) == 2
    assert db.expiry_due.count_documents({"telegram_id": {"$exists": True}}) == 0
    assert filters.seen, "the sweep read nothing"
    assert all(equality_only(f) for _, f in filters.seen), filters.seen


async def test_the_cursor_survives_a_restart_and_a_late_filing_in_its_minute_is_seen(
    sweeper: tuple[ExpirySweeper, Schedule], db: Database[Document], filters: Filters
) -> None:
    sweep, schedule = sweeper
    assert await sweep.sweep(NOW) == 0
    reads_of_first_sweep = len(filters.seen)
    assert reads_of_first_sweep > 700  # a month back: hours, then minutes

    until = NOW - timedelta(seconds=5)  # in the current minute, filed after the sweep
    seed(db, 4, until)
    await schedule.file(4, until)
    filters.seen.clear()
    assert await sweep.sweep(NOW + timedelta(seconds=10)) == 1
    assert len(filters.seen) < 10  # from the saved cursor, not a month back again


async def test_users_stored_before_lapses_were_filed_are_filed_once_at_start(
    sweeper: tuple[ExpirySweeper, Schedule], db: Database[Document]
) -> None:
    sweep, _ = sweeper
    seed(db, 5, NOW - timedelta(hours=2))
    seed(db, 6, NOW - timedelta(days=90))  # lapsed long before the lookback
    assert await sweep.backfill(NOW) == 1
    assert await sweep.backfill(NOW) == 0  # once per database
    assert await sweep.sweep(NOW) == 1
    assert [m["_id"] for m in db.expiry_marks.find()] == [
        f"5:{(NOW - timedelta(hours=2)).isoformat()}"
    ]
