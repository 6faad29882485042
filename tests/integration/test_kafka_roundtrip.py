"""Every event type goes through the real broker and comes back equal."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from events import Envelope, Event, decode
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher, PublishFailed
from keyland.kafka.topics import ensure_topics
from keyland.settings import KafkaSettings

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "events" / "samples").glob("*.json"))


async def test_every_event_type_round_trips_through_kafka(
    publisher: EventPublisher, kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    sent = [decode(path.read_bytes()) for path in SAMPLES]
    for envelope in sent:
        metadata = await publisher.publish(envelope)
        assert metadata.topic == topics.of(envelope.payload)

    consumer = AIOKafkaConsumer(
        *{topics.of(envelope.payload) for envelope in sent},
        bootstrap_servers=kafka_settings.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received: list[Envelope[Event]] = []
        while len(received) < len(sent):
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, "timed out waiting for records"
            for records in batches.values():
                for record in records:
                    envelope = decode(record.value, topic=topics.base(record.topic))
                    assert record.key == envelope.key
                    assert dict(record.headers)["event_id"] == str(envelope.event_id).encode()
                    received.append(envelope)
    finally:
        await consumer.stop()
    assert sorted(received, key=lambda e: e.type) == sorted(sent, key=lambda e: e.type)


async def test_topic_creation_is_idempotent(
    kafka_settings: KafkaSettings, created_topics: TopicNames
) -> None:
    assert await ensure_topics(kafka_settings.bootstrap, created_topics) == []


async def test_publish_fails_clearly_when_kafka_is_unreachable() -> None:
    settings = KafkaSettings(bootstrap="127.0.0.1:1", publish_timeout_s=2)
    publisher = EventPublisher.from_settings(settings, client_id="tests-unreachable")
    envelope = decode(SAMPLES[0].read_bytes())
    with pytest.raises(PublishFailed, match="cannot connect to Kafka"):
        await publisher.publish(envelope)
    await publisher.close()
