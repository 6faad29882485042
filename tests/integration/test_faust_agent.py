"""A real faust worker consumes a real topic, commits, and dead-letters poison records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo.database import Database

from events import Envelope
from events.bot_actions import RegionChosen, TrialRequested
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.settings import KafkaSettings, MongoSettings
from tests.processes import Program
from tests.waiting import eventually


@pytest.fixture(scope="module")
def app_id(isolation: str) -> str:
    return f"{isolation}-probe"


@pytest.fixture(scope="module")
def worker(
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    created_topics: TopicNames,
    app_id: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Program]:
    env = {
        "PROBE_APP_ID": app_id,
        "KEYLAND_KAFKA_BOOTSTRAP": kafka_settings.bootstrap,
        "KEYLAND_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
        "KEYLAND_MONGO_URL": mongo_settings.url,
        "KEYLAND_MONGO_DATABASE": mongo_settings.database,
        "KEYLAND_MONGO_POSTGRES_URL": mongo_settings.postgres_url,
    }
    log = tmp_path_factory.mktemp("worker") / "probe.log"
    program = Program("tests.integration.probe_worker", env, log).start()
    yield program
    program.stop()


def trial(telegram_id: int) -> Envelope[TrialRequested]:
    return Envelope.new(
        TrialRequested(telegram_id=telegram_id), producer="tests", occurred_at=datetime.now(UTC)
    )


async def committed_total(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(meta.offset for meta in offsets.values() if meta.offset > 0)


async def read_all(
    bootstrap: str, topic: str, expected: int
) -> list[tuple[bytes | None, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []
            ]
        consumer.assign(partitions)
        records: list[tuple[bytes | None, dict[str, bytes]]] = []
        deadline = time.monotonic() + 30
        while len(records) < expected and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records += [(r.value, dict(r.headers)) for r in batch]
        return records
    finally:
        await consumer.stop()


async def test_agent_consumes_a_real_topic_and_commits(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    app_id: str,
) -> None:
    sent = [trial(telegram_id) for telegram_id in range(1, 21)]
    for envelope in sent:
        await publisher.publish(envelope)

    await eventually(lambda: db.processed.count_documents({}) == len(sent), worker)
    assert {doc["_id"] for doc in db.processed.find()} == {str(e.event_id) for e in sent}

    deadline = time.monotonic() + 30
    while await committed_total(kafka_settings.bootstrap, app_id) < len(sent):
        assert time.monotonic() < deadline, "offsets were not committed"
        await asyncio.sleep(0.5)


async def test_poison_records_go_to_the_dlq_and_the_agent_keeps_consuming(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    before = db.processed.count_documents({})
    source = topics("bot.actions")
    await publisher.send_raw(source, key=b"5", value=b"{not json", headers=[])
    refused = Envelope.new(
        RegionChosen(telegram_id=5, region="poison"),
        producer="tests",
        occurred_at=datetime.now(UTC),
    )
    await publisher.publish(refused)
    buggy = Envelope.new(
        RegionChosen(telegram_id=5, region="bug"), producer="tests", occurred_at=datetime.now(UTC)
    )
    await publisher.publish(buggy)
    after = trial(5)  # same key, so same partition: it sits behind the poison records
    await publisher.publish(after)

    await eventually(
        lambda: db.processed.find_one({"_id": str(after.event_id)}) is not None, worker
    )
    assert db.processed.count_documents({}) == before + 1

    dead = await read_all(kafka_settings.bootstrap, topics.dlq("bot.actions"), expected=3)
    assert [value for value, _ in dead] == [
        b"{not json",
        refused.model_dump_json().encode(),
        buggy.model_dump_json().encode(),
    ]
    assert b"not JSON" in dead[0][1]["dlq.error"]
    assert b"PermanentError" in dead[1][1]["dlq.error"]
    assert b"RuntimeError: a handler bug" in dead[2][1]["dlq.error"]
    for _, headers in dead:
        assert headers["dlq.source.topic"] == source.encode()
        assert headers["dlq.consumer"].endswith(b"-probe")


async def test_redelivered_records_are_not_recorded_twice(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    mongo_settings: MongoSettings,
) -> None:
    envelope = trial(77)
    for _ in range(3):
        await publisher.publish(envelope)
    marker = trial(78)
    await publisher.publish(marker)
    await eventually(
        lambda: db.processed.find_one({"_id": str(marker.event_id)}) is not None, worker
    )
    assert db.processed.count_documents({"_id": str(envelope.event_id)}) == 1
    assert Path(mongo_settings.database)  # the module's own database, dropped afterwards
