"""Turns against the real database: of instances racing for a term one holds it, the
holder keeps the next term by asking in time, and a holder that stops asking (dead)
hands the job over at the next term."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.database import Database

from keyland.mongo import Document
from keyland.settings import MongoSettings
from keyland.turns import KEPT_TERMS, Turns, term_of, turn_id

TERM = timedelta(seconds=10)
START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # the start of a term (10 s divide a day)


@pytest.fixture
async def instances(
    mongo_settings: MongoSettings, db: Database[Document]
) -> AsyncIterator[list[Turns]]:
    """Four instances' views of one fresh ``turns`` collection, each on its own client."""
    db.turns.delete_many({})
    clients: list[AsyncMongoClient[Document]] = [
        AsyncMongoClient(mongo_settings.url, tz_aware=True) for _ in range(4)
    ]
    yield [
        Turns(client[mongo_settings.database]["turns"], "sweeps", f"worker-{n}", TERM)
        for n, client in enumerate(clients)
    ]
    for client in clients:
        await client.close()


async def holders(instances: list[Turns], now: datetime) -> list[int]:
    answers = await asyncio.gather(*(turns.holds(now) for turns in instances))
    return [n for n, held in enumerate(answers) if held]


async def test_of_instances_racing_for_a_term_one_holds_it(instances: list[Turns]) -> None:
    first = await holders(instances, START + timedelta(seconds=1))
    assert len(first) == 1, first
    assert await holders(instances, START + timedelta(seconds=4)) == first, "asked again"


async def test_the_holder_keeps_the_next_term_by_asking_in_its_second_half(
    instances: list[Turns],
) -> None:
    [holder] = await holders(instances, START + timedelta(seconds=1))
    assert await instances[holder].holds(START + timedelta(seconds=6))  # asks ahead
    # The next term begins: the others ask first, and still the holder keeps it.
    later = START + TERM + timedelta(seconds=0.5)
    others = [t for n, t in enumerate(instances) if n != holder]
    assert await holders(others, later) == []
    assert await instances[holder].holds(later)


async def test_a_holder_that_stops_asking_hands_over_at_the_next_term(
    instances: list[Turns],
) -> None:
    [holder] = await holders(instances, START + timedelta(seconds=1))
    # The holder dies before the second half of its term: the next term is nobody's yet.
    survivors = [t for n, t in enumerate(instances) if n != holder]
    assert await holders(survivors, START + timedelta(seconds=9)) == []
    taken = await holders(survivors, START + TERM + timedelta(seconds=0.2))
    assert len(taken) == 1, taken
    assert not await instances[holder].holds(START + TERM + timedelta(seconds=0.3))


async def test_a_holder_drops_the_documents_of_terms_long_past(
    instances: list[Turns], db: Database[Document]
) -> None:
    turns = instances[0]
    for step in range(6):
        assert await turns.holds(START + step * TERM + timedelta(seconds=7))
    kept = sorted(str(d["_id"]) for d in db.turns.find({}))
    last = term_of(START + 6 * TERM, TERM)  # asked ahead in the last term's second half
    assert kept == sorted(turn_id("sweeps", n) for n in range(last - KEPT_TERMS + 1, last + 1))
