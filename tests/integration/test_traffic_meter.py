"""Counting a real node's traffic into ``traffic``: a real Xray moved the bytes (a real
VLESS client fetched a page through it), the agent read them, the provisioner's meter
published them on real Kafka, once per window."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from events import Envelope, Event, derived_event_id
from events.registry import TopicNames
from events.traffic import TrafficCounted
from keyland.kafka.ownership import Ownership, partition_of
from keyland.kafka.producer import EventPublisher
from keyland.settings import KafkaSettings
from keyland_tools.stack.node import Node
from keyland_tools.stack.vless_client import PAGE, PageServer, VlessClient
from services.provisioner.adapters.node_client import NodeClients
from services.provisioner.config import NodeAccessSettings
from services.provisioner.domain.access import UserAccess
from services.provisioner.domain.access_book import AccessBook
from services.provisioner.handlers.traffic import TrafficMeter
from tests.kafka_tail import read_topic
from tests.nodes import start_node
from tests.provisioning import address

WINDOW = timedelta(minutes=5)
START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    started = start_node(tmp_path_factory.mktemp("state"), "finland")
    yield started
    started.stop()


@pytest.fixture(scope="module")
def page() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@pytest.fixture
async def clients(node: Node) -> AsyncIterator[NodeClients]:
    token = SecretStr(node.agent.environment["KEYLAND_NODE_TOKEN"])
    built = NodeClients.from_settings(NodeAccessSettings(node_token=token))
    yield built
    await built.close()


async def counts_on(
    kafka: KafkaSettings, topics: TopicNames, key: uuid.UUID, at_least: int
) -> list[Envelope[Event]]:
    def mine(found: list[Envelope[Event]]) -> list[Envelope[Event]]:
        return [e for e in found if getattr(e.payload, "key_id", None) == key]

    found = await read_topic(
        kafka.bootstrap,
        topics("traffic"),
        until=lambda found: len(mine(found)) >= at_least,
        timeout_s=5,
    )
    return mine(found)


async def test_a_windows_bytes_are_published_once_for_the_keys_owner(
    node: Node,
    page: PageServer,
    clients: NodeClients,
    publisher: EventPublisher,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    tmp_path: Path,
) -> None:
    owned, stranger = uuid.uuid4(), uuid.uuid4()
    where = address(node)
    client = clients.for_node(where)
    answer = await client.change([owned, stranger], [])
    book = AccessBook()
    book.put(UserAccess(telegram_id=4242, key_id=owned, until=START + timedelta(days=30)))
    meter, elsewhere = (
        TrafficMeter(
            where, "finland", client, book=book, ownership=owner, publisher=publisher, window=WINDOW
        )
        for owner in (Ownership.whole(6), Ownership(6, set(range(6)) - {partition_of(b"4242", 6)}))
    )

    assert await meter.count(START) == 0  # the baseline
    assert await elsewhere.count(START) == 0
    for key in (owned, stranger):
        with VlessClient(answer.links[key], node.xray.build, tmp_path / str(key)) as vless:
            vless.fetch(page)
            vless.fetch(page)
    assert not meter.due(START + WINDOW - timedelta(seconds=1))
    assert await meter.count(START + WINDOW) == 1
    assert await elsewhere.count(START + WINDOW) == 0  # 4242 is another instance's user
    assert await meter.count(START + WINDOW + timedelta(minutes=1)) == 0  # window counted
    assert await meter.count(START + 2 * WINDOW) == 0  # nothing moved since

    [published] = await counts_on(kafka_settings, topics, owned, at_least=1)
    counted = published.payload
    assert isinstance(counted, TrafficCounted)
    assert (counted.telegram_id, counted.node, counted.window_start) == (
        4242,
        where,
        START + WINDOW,
    )
    assert counted.downlink_bytes >= 2 * len(PAGE)
    assert counted.uplink_bytes > 0
    expected_id = derived_event_id(
        owned, "TrafficCounted", f"{where}|{counted.window_start.isoformat()}"
    )
    assert published.event_id == expected_id
    assert await counts_on(kafka_settings, topics, stranger, at_least=1) == []
