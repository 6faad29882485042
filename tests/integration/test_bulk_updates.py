"""Bulk updates reach FerretDB in small commands: one ``update`` command keeps a pooled
PostgreSQL connection per statement until it ends, so a large one could take every
connection of FerretDB's pool and stop it answering anyone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from keyland.mongo import UPDATES_PER_COMMAND, Document
from keyland.settings import MongoSettings
from services.provisioner.adapters.repository import NodeRecords
from services.provisioner.domain.access import KeyState
from services.provisioner.domain.plan import Applied


class Updates(monitoring.CommandListener):
    """The number of statements of every ``update`` command sent."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update":
            self.sizes.append(len(event.command["updates"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def updates() -> Updates:
    return Updates()


@pytest.fixture
async def handle(
    mongo_settings: MongoSettings, updates: Updates
) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongo_settings.url, tz_aware=True, event_listeners=[updates]
    )
    yield client[mongo_settings.database]
    await client.close()


async def test_a_nodes_records_are_saved_a_few_statements_to_a_command(
    handle: AsyncDatabase[Document], updates: Updates
) -> None:
    node = f"127.0.0.1:{uuid.uuid4().int % 50_000 + 10_000}-bulk"
    records = NodeRecords(handle["node_keys"])
    applied = [
        (900_000_000 + n, Applied(uuid.uuid4(), KeyState.ENABLED, f"vless://{n}", None))
        for n in range(3 * UPDATES_PER_COMMAND + 1)
    ]
    try:
        await records.save_applied(node, "finland", applied, datetime.now(UTC))

        assert updates.sizes == [UPDATES_PER_COMMAND] * 3 + [1]
        saved = await records.applied_on(node)
        assert set(saved) == {record.key_id for _, record in applied}
    finally:
        await records.forget_node(node)
