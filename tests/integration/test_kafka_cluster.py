"""A three-broker cluster of the local stack (``keyland stack up --brokers 3``) keeps every
acknowledged event through the loss of a broker, and takes the broker back.

The module runs a cluster of its own on free ports, its state under /tmp/cluster/, never
the shared broker. Its cost is the JVMs: three started, one killed and started again.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from events import Envelope, Event, decode
from events.bot_actions import UserSeen
from events.registry import TOPICS, TopicNames
from keyland.kafka.admin import admin_client
from keyland.kafka.producer import EventPublisher, PublishFailed
from keyland.kafka.topics import ensure_topics
from keyland.settings import KafkaSettings
from keyland_tools.stack.kafka import Kafka
from keyland_tools.stack.process import free_port_run
from keyland_tools.stack.settings import StackSettings

pytestmark = pytest.mark.integration

STATE_ROOT = Path("/tmp/cluster")
BROKERS = 3


@pytest.fixture(scope="module")
def cluster() -> Iterator[Kafka]:
    state = STATE_ROOT / uuid.uuid4().hex[:10]
    # Client ports first, +2, +4; controller ports first + 1, +3, +5 (kafka_layout).
    client_port = free_port_run(2 * BROKERS)
    controller_port = client_port + 1
    stack = StackSettings(state_dir=state, kafka_controller_port=controller_port)
    kafka = Kafka(stack, KafkaSettings(bootstrap=f"127.0.0.1:{client_port}"), BROKERS)
    try:
        kafka.start()
        yield kafka
    finally:
        for broker in kafka.brokers:  # a throwaway cluster: no controlled shutdown
            broker.kill()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def names() -> TopicNames:
    return TopicNames(f"c{uuid.uuid4().hex[:8]}.")


@pytest.fixture
async def publisher(cluster: Kafka, names: TopicNames) -> AsyncIterator[EventPublisher]:
    settings = KafkaSettings(
        bootstrap=cluster.bootstrap, topic_prefix=names.prefix, publish_timeout_s=30
    )
    publisher = EventPublisher.from_settings(settings, client_id="cluster-tests")
    yield publisher
    await publisher.close()


async def replicas(bootstrap: str, topic: str) -> list[tuple[list[int], list[int]]]:
    """(replicas, in-sync replicas) of each partition of ``topic``."""
    async with admin_client(bootstrap) as admin:
        [described] = await admin.describe_topics([topic])
    return [(p["replicas"], p["isr"]) for p in described["partitions"]]


async def topic_config(bootstrap: str, topic: str, key: str) -> str:
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, {key: None})
    async with admin_client(bootstrap) as admin:
        for _ in range(50):  # a topic created a moment ago may list no configs yet
            [response] = await admin.describe_configs([resource])
            [(_, _, _, _, entries)] = response.resources
            if entries:
                [(_, value, *_)] = entries
                return str(value)
            await asyncio.sleep(0.2)
    raise AssertionError(f"{topic} lists no {key}")


async def read_group(bootstrap: str, topic: str, group: str, count: int) -> list[Envelope[Event]]:
    """``count`` records of ``topic`` read and committed by consumer group ``group``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[Envelope[Event]] = []
    try:
        while len(received) < count:
            batches = await consumer.getmany(timeout_ms=15_000)
            assert batches, f"read {len(received)} of {count}"
            received += [decode(r.value) for records in batches.values() for r in records]
        await consumer.commit()
    finally:
        await consumer.stop()
    return received


def seen(first: int, count: int) -> list[Envelope[Event]]:
    return [
        Envelope.new(UserSeen(telegram_id=n), producer="tests", occurred_at=datetime.now(UTC))
        for n in range(first, first + count)
    ]


async def test_topics_and_consumer_offsets_keep_three_copies_two_in_sync(
    cluster: Kafka, names: TopicNames, publisher: EventPublisher
) -> None:
    await ensure_topics(cluster.bootstrap, names)
    for topic in (names("payments"), names.dlq("payments"), names("bot.actions")):
        assert all(len(r) == BROKERS for r, _ in await replicas(cluster.bootstrap, topic))
        assert await topic_config(cluster.bootstrap, topic, "min.insync.replicas") == "2"
    # The group's commit creates the internal offsets topic, replicated by broker config.
    await publisher.publish_many(seen(1, 10))
    await read_group(cluster.bootstrap, names("bot.actions"), "cluster-tests-first", 10)
    offsets = await replicas(cluster.bootstrap, "__consumer_offsets")
    assert offsets
    assert all(len(r) == BROKERS for r, _ in offsets)
    assert await topic_config(cluster.bootstrap, "__consumer_offsets", "min.insync.replicas") == "2"


async def test_a_killed_broker_loses_no_acknowledged_event_and_rejoins(
    cluster: Kafka, names: TopicNames, publisher: EventPublisher
) -> None:
    await ensure_topics(cluster.bootstrap, names)
    topic, group = names("bot.actions"), f"cluster-tests-{uuid.uuid4().hex[:6]}"
    # A topic wanting all three copies in sync: writable now, refused once a broker is
    # gone, because our producers wait for every in-sync copy (acks=all).
    strict_names = TopicNames(f"strict{uuid.uuid4().hex[:6]}.")
    bot_actions = tuple(spec for spec in TOPICS if spec.name == "bot.actions")
    await ensure_topics(cluster.bootstrap, strict_names, bot_actions, min_insync_replicas=BROKERS)
    strict = EventPublisher.from_settings(
        KafkaSettings(
            bootstrap=cluster.bootstrap, topic_prefix=strict_names.prefix, publish_timeout_s=3
        ),
        client_id="cluster-tests-strict",
    )
    before = seen(1000, 50)
    await publisher.publish_many(before)
    await strict.publish(seen(1000, 1)[0])
    assert ids(await read_group(cluster.bootstrap, topic, group, 50)) == ids(before)

    first = cluster.brokers[0]  # the first bootstrap address: clients must find the others
    first.kill()
    assert first.daemon.pid() is None

    during = seen(2000, 50)
    await publisher.publish_many(during)  # acknowledged by both copies left of each
    try:
        with pytest.raises(PublishFailed):
            await strict.publish(seen(2000, 1)[0])
        assert ids(await read_group(cluster.bootstrap, topic, group, 50)) == ids(during)
    finally:  # the killed broker only; waits until every broker lists it
        await asyncio.to_thread(cluster.start)
        await strict.close()  # its refused record goes now that three copies are in sync
    assert first.daemon.pid() is not None
    await until_every_copy_is_in_sync(cluster.bootstrap, topic)
    after = seen(3000, 10)
    await publisher.publish_many(after)
    assert ids(await read_group(cluster.bootstrap, topic, group, 10)) == ids(after)


def ids(envelopes: list[Envelope[Event]]) -> list[uuid.UUID]:
    return sorted(e.event_id for e in envelopes)


async def until_every_copy_is_in_sync(bootstrap: str, topic: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        partitions = await replicas(bootstrap, topic)
        if all(len(isr) == BROKERS for _, isr in partitions):
            return
        assert time.monotonic() < deadline, f"in-sync replicas still {partitions}"
        await asyncio.sleep(0.5)
