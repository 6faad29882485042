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


async def read_to_end(bootstrap: str, topic: str) -> list[bytes | None]:
    """Every value in ``topic`` up to its current end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        values: list[bytes | None] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                values += [record.value for record in batch]
        return values
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


async def test_records_arriving_together_are_handled_as_one_batch(
    worker: Program, publisher: EventPublisher, db: Database[Document]
) -> None:
    sent = [trial(telegram_id) for telegram_id in range(1000, 1040)]
    await asyncio.gather(*(publisher.publish(envelope) for envelope in sent))

    await eventually(
        lambda: (
            db.processed.count_documents({"_id": {"$in": [str(e.event_id) for e in sent]}})
            == len(sent)
        ),
        worker,
    )
    largest = db.batches.find_one(sort=[("size", -1)])
    assert largest is not None
    assert largest["size"] > 1


async def test_a_failing_record_in_a_batch_leaves_the_others_applied(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    good = [trial(2000 + n) for n in range(10)]
    refused = Envelope.new(
        RegionChosen(telegram_id=2005, region="poison"),
        producer="tests",
        occurred_at=datetime.now(UTC),
    )
    await asyncio.gather(*(publisher.publish(e) for e in [*good[:5], refused, *good[5:]]))

    await eventually(
        lambda: (
            db.processed.count_documents({"_id": {"$in": [str(e.event_id) for e in good]}})
            == len(good)
        ),
        worker,
    )
    dead = refused.model_dump_json().encode()
    dlq = topics.dlq("bot.actions")
    deadline = time.monotonic() + 30
    while dead not in await read_to_end(kafka_settings.bootstrap, dlq):
        assert time.monotonic() < deadline, "the refused record did not reach the DLQ"
        await asyncio.sleep(0.5)
    assert db.processed.find_one({"_id": str(refused.event_id)}) is None
