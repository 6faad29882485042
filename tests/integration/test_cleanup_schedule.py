"""The weekly cleanup reads filed day buckets and users by ``_id``, never a range over
``users`` (real database); it takes exactly who qualifies at the six-month boundary, and
the worker runs it on its timer, once per interval (restarts and a second worker: see
test_cleanup_timer.py)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient
from pymongo.database import Database

from events.registry import TopicNames
from keyland.indexes import ensure_indexes
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.settings import MongoSettings
from keyland.time_buckets import INACTIVITY
from services.subscription.adapters.schedule import Schedule
from services.subscription.adapters.user_reads import UserReads
from services.subscription.config import SubscriptionSettings
from services.subscription.domain.figures import inactive_from
from services.subscription.handlers.cleanup import InactiveUsers
from tests.integration.test_expiry_sweep import Filters, equality_only
from tests.integration.test_subscription_jobs import paid_for_days, started
from tests.processes import Program
from tests.services import subscription_worker
from tests.user_docs import stored_user, user_doc
from tests.waiting import eventually

NOW = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
AGE = timedelta(days=182)  # six months, the default age
TICK_S = 2.0  # the cleanup's interval in the timer test (a week by default)


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


def test_the_defaults_are_six_months_and_once_a_week() -> None:
    fields = SubscriptionSettings.model_fields
    assert timedelta(days=fields["cleanup_after_days"].default) == AGE
    assert timedelta(seconds=fields["cleanup_interval_s"].default) == timedelta(weeks=1)
    assert timedelta(seconds=fields["cleanup_tick_s"].default) == timedelta(minutes=5)


async def test_the_boundary_is_exactly_the_age_after_the_last_activity_or_the_access_end(
    cleanup: tuple[InactiveUsers, Schedule], db: Database[Document]
) -> None:
    job, schedule = cleanup
    second = timedelta(seconds=1)
    users = {
        10: seed(db, 10, NOW - AGE),  # registered exactly six months ago, never bought
        11: seed(db, 11, NOW - AGE + second),  # a second less
        12: seed(db, 12, NOW - 2 * AGE, last_purchase_at=NOW - AGE, until=NOW - AGE),
        13: seed(db, 13, NOW - 2 * AGE, last_purchase_at=NOW - AGE + second, until=NOW - AGE),
        14: seed(db, 14, NOW - 2 * AGE, last_purchase_at=NOW - 2 * AGE, until=NOW),
        15: seed(db, 15, NOW - 2 * AGE, last_purchase_at=NOW - 2 * AGE, until=NOW + second),
    }
    for telegram_id, moment in users.items():
        await schedule.file(telegram_id, moment)
    found = await job.find(NOW)
    assert sorted(c.telegram_id for c in found.candidates) == [10, 12, 14]
    await job.settle(found)
    later = await job.find(NOW + second)
    assert sorted(c.telegram_id for c in later.candidates) == [11, 13, 15]


@pytest.fixture
def timed_worker(
    service_env: dict[str, str],
    created_topics: TopicNames,
    db: Database[Document],
    tmp_path: Path,
) -> Iterator[Program]:
    """A subscription worker that cleans up every ``TICK_S`` (its timer ticks ten times as
    often), on a fresh schedule with no run stored."""
    for name in ("users", "inactive_due", "cleanup_runs"):
        db[name].delete_many({})
    interval = {
        "KEYLAND_SUBSCRIPTION_CLEANUP_INTERVAL_S": str(TICK_S),
        "KEYLAND_SUBSCRIPTION_CLEANUP_TICK_S": str(TICK_S / 10),
    }
    with subscription_worker(service_env, tmp_path, **interval) as program:
        yield program


def cleanup_runs(worker: Program) -> list[datetime]:
    """When the worker's timer ran the cleanup, from its log."""
    lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    return [
        datetime.fromisoformat(line["time"])
        for line in lines
        if line["message"].startswith("cleanup asked to purge")
    ]


async def test_the_worker_purges_on_its_timer_once_per_interval(
    timed_worker: Program, publisher: EventPublisher, db: Database[Document]
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=400)
    await publisher.publish(started(950, long_ago, username="gone"))
    await publisher.publish(paid_for_days(950, 30, long_ago + timedelta(seconds=1)))
    await publisher.publish(started(951, datetime.now(UTC), username="here"))
    await eventually(lambda: user_doc(db, 951).get("registered") is True, timed_worker)
    await eventually(lambda: user_doc(db, 950).get("registered") is False, timed_worker)
    assert user_doc(db, 951)["registered"] is True

    await asyncio.sleep(5 * TICK_S)
    runs = cleanup_runs(timed_worker)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(runs)]
    assert len(runs) >= 4
    assert min(gaps) >= 0.9 * TICK_S, gaps  # never more often than the interval
