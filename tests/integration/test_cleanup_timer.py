"""The cleanup timer against the real database and real workers: a due run is claimed by
one of many racing, an abandoned claim is taken over once, and the cleanup's schedule
lives in the database, not in a worker's uptime: a worker restarted before the interval
elapsed still runs it once the stored last run is an interval old, and two workers ticking
side by side run it once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient
from pymongo.database import Database

from events.registry import TopicNames
from keyland.mongo import Document
from keyland.settings import MongoSettings
from services.subscription.adapters.cleanup_runs import CleanupRuns
from services.subscription.handlers.cleanup_timer import Claim, CleanupTimer
from tests.integration.test_cleanup_schedule import cleanup_runs
from tests.processes import Program
from tests.services import subscription_worker
from tests.waiting import eventually

NOW = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)
WEEK, LEASE = timedelta(weeks=1), timedelta(hours=1)
INTERVAL_S = 30.0  # the cleanup's interval in the worker tests
TICK_S = 0.1


@pytest.fixture
async def runs(
    mongo_settings: MongoSettings, db: Database[Document]
) -> AsyncIterator[list[CleanupRuns]]:
    """Eight workers' views of one fresh ``cleanup_runs``, each on its own client."""
    db.cleanup_runs.delete_many({})
    clients: list[AsyncMongoClient[Document]] = [
        AsyncMongoClient(mongo_settings.url, tz_aware=True) for _ in range(8)
    ]
    yield [
        CleanupRuns(client[mongo_settings.database]["cleanup_runs"], f"worker-{n}")
        for n, client in enumerate(clients)
    ]
    for client in clients:
        await client.close()


def timers(runs: list[CleanupRuns]) -> list[CleanupTimer]:
    return [CleanupTimer(r, WEEK, LEASE) for r in runs]


async def test_of_workers_racing_for_a_due_run_one_claims_it(runs: list[CleanupRuns]) -> None:
    racing = timers(runs)
    first = await asyncio.gather(*(t.claim(NOW) for t in racing))
    assert sorted(first, key=str) == [Claim(None, 0)] + [None] * 7, first
    await racing[0].finish(NOW + timedelta(seconds=3))

    assert await asyncio.gather(*(t.claim(NOW + WEEK) for t in racing)) == [None] * 8
    due = NOW + timedelta(seconds=3) + WEEK
    second = await asyncio.gather(*(t.claim(due) for t in racing))
    assert sorted(second, key=str) == [Claim(NOW + timedelta(seconds=3), 0)] + [None] * 7


async def test_a_claim_left_unfinished_is_taken_over_once_after_the_lease(
    runs: list[CleanupRuns],
) -> None:
    racing = timers(runs)
    assert await racing[0].claim(NOW) == Claim(None, 0)  # and its worker dies
    assert await asyncio.gather(*(t.claim(NOW + LEASE / 2) for t in racing[1:])) == [None] * 7
    later = await asyncio.gather(*(t.claim(NOW + LEASE) for t in racing[1:]))
    assert sorted(later, key=str) == [Claim(None, 1)] + [None] * 6, later


@contextmanager
def ticking_worker(service_env: dict[str, str], where: Path) -> Iterator[Program]:
    """A worker of its own (data and log in ``where``) whose timer ticks every ``TICK_S``."""
    where.mkdir()
    with subscription_worker(
        service_env,
        where,
        KEYLAND_SUBSCRIPTION_CLEANUP_INTERVAL_S=str(INTERVAL_S),
        KEYLAND_SUBSCRIPTION_CLEANUP_TICK_S=str(TICK_S),
        KEYLAND_SUBSCRIPTION_DATA_DIR=str(where / "data"),
    ) as program:
        yield program


def fresh(db: Database[Document], last_run: datetime) -> None:
    """A fresh schedule whose last cleanup finished at ``last_run``."""
    for name in ("users", "inactive_due", "cleanup_runs"):
        db[name].delete_many({})
    db.cleanup_runs.insert_one({"_id": "last", "at": last_run})


async def test_a_worker_restarted_before_the_interval_runs_the_cleanup_once_it_is_due(
    service_env: dict[str, str],
    created_topics: TopicNames,
    db: Database[Document],
    tmp_path: Path,
) -> None:
    last_run = datetime.now(UTC)
    fresh(db, last_run)
    with ticking_worker(service_env, tmp_path / "first") as first:
        await asyncio.sleep(5)  # restarted well before the interval
    assert cleanup_runs(first) == []

    restarted_at = datetime.now(UTC)
    with ticking_worker(service_env, tmp_path / "second") as second:
        await eventually(lambda: bool(cleanup_runs(second)), second, timeout_s=2 * INTERVAL_S)
        await asyncio.sleep(3)
    runs = cleanup_runs(second)
    assert len(runs) == 1, runs
    # Due an interval after the stored run, not an interval after this worker started.
    assert last_run + timedelta(seconds=INTERVAL_S) <= runs[0]
    assert runs[0] < restarted_at + timedelta(seconds=INTERVAL_S), (restarted_at, runs)
    stored = db.cleanup_runs.find_one({"_id": "last"})
    assert stored is not None
    assert stored["at"] >= last_run + timedelta(seconds=INTERVAL_S)


async def test_two_workers_ticking_side_by_side_run_a_due_cleanup_once(
    service_env: dict[str, str],
    created_topics: TopicNames,
    db: Database[Document],
    tmp_path: Path,
) -> None:
    # Due in 20 s: both workers are up and ticking by then.
    fresh(db, datetime.now(UTC) - timedelta(seconds=INTERVAL_S - 20))
    with (
        ticking_worker(service_env, tmp_path / "a") as a,
        ticking_worker(service_env, tmp_path / "b") as b,
    ):
        await eventually(lambda: bool(cleanup_runs(a) + cleanup_runs(b)), a, b, timeout_s=90)
        await asyncio.sleep(5)  # both keep ticking
        assert len(cleanup_runs(a) + cleanup_runs(b)) == 1, (cleanup_runs(a), cleanup_runs(b))
    claims = [d["_id"] for d in db.cleanup_runs.find() if d["_id"] != "last"]
    assert len(claims) == 1, claims
    assert claims[0].endswith(":0"), claims  # the first attempt: nobody took it over
