"""The workers' owned caches against the real database: a user's next batch loads what
the worker last wrote without a read, and a write that failed leaves nothing cached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from keyland.kafka.owned_cache import OwnedCache
from keyland.mongo import Document
from keyland.settings import MongoSettings
from services.notifier.adapters.users import Users as NotifierUsers
from services.notifier.domain.profiles import Profile
from services.subscription.adapters.figure_shards import FigureShards
from services.subscription.adapters.users import Users, user_document
from services.subscription.domain.figures import Figures, Shard
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from services.subscription.domain.rules import Rules
from tests.unit.subscription.builders import at, started, trial

RULES = Rules(key_secret=b"owned-cache-test")


class Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.collections: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.collections.append(str(event.command["find"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def finds() -> Finds:
    return Finds()


@pytest.fixture
async def handle(
    mongo_settings: MongoSettings, finds: Finds
) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongo_settings.url, tz_aware=True, event_listeners=[finds]
    )
    yield client[mongo_settings.database]
    await client.close()


async def test_a_users_next_batch_loads_what_the_worker_wrote_without_a_read(
    handle: AsyncDatabase[Document], finds: Finds
) -> None:
    users = Users(handle["owned_users"], OwnedCache(100))
    first = await users.load(5101)  # a newcomer: one read, and "no document" is remembered
    assert first.entries == []
    assert await users.load(5101) == first
    entries: list[Entry] = [started(0, username="Ann"), trial(0.1)]
    state = fold(5101, entries, RULES)
    await users.save(user_document(state, entries, [b"fact"], at=at(0.1)))
    assert (await users.load(5101)).outbox == [b"fact"]
    await users.clear_outbox(5101)
    loaded = await users.load(5101)
    assert finds.collections == ["owned_users"], "one read, for the newcomer"

    fresh = Users(handle["owned_users"])  # another process: reads what was written
    assert await fresh.load(5101) == loaded
    assert loaded.outbox == []
    assert loaded.applied == {str(e.event_id) for e in entries}


async def test_a_write_that_failed_leaves_the_user_to_be_read_again(
    handle: AsyncDatabase[Document], finds: Finds
) -> None:
    users = Users(handle["owned_users"], OwnedCache(100))
    entries: list[Entry] = [started(0, username="Bo")]
    await users.save(user_document(fold(5102, entries, RULES), entries, [], at=at(0)))
    broken: dict[str, Any] = {"_id": "user:5102", "telegram_id": 5102, "$bad": 1}
    with pytest.raises(PyMongoError):  # refused by the server: nothing of it may be cached
        await users.save(broken)
    await users.load(5102)
    assert finds.collections == ["owned_users"]


async def test_the_notifier_learns_a_users_profile_with_one_read(
    handle: AsyncDatabase[Document], finds: Finds
) -> None:
    profiles = NotifierUsers(handle["owned_profiles"], handle["owned_recipients"], OwnedCache(10))
    assert await profiles.profile(5201) == Profile(5201)
    learnt = Profile(5201, registered=True, language_code="en", until=at(30.000_123))
    await profiles.save_profile(learnt)
    cached = await profiles.profile(5201)
    assert finds.collections == ["owned_profiles"]
    assert cached == await NotifierUsers(
        handle["owned_profiles"], handle["owned_recipients"]
    ).profile(5201), (
        "as the database keeps it (times to the millisecond), so an unchanged profile is not "
        "written again"
    )


async def test_the_figure_shards_owner_reads_a_shard_once_and_totals_always_read(
    handle: AsyncDatabase[Document], finds: Finds
) -> None:
    await handle["owned_figures"].delete_many({})
    shards = FigureShards(handle["owned_figures"], partitions=2, owned=OwnedCache(2))
    assert await shards.load(0) == Shard()
    moved = Shard(totals=Figures(users=1), inflight={5301: Figures(users=1)})
    await shards.store(0, moved)
    assert await shards.load(0) == moved
    assert finds.collections == ["owned_figures"]
    assert (await shards.totals()).users == 1
    assert finds.collections == ["owned_figures"] * 3, "totals read both shards"
