"""The expiry sweep waits until its group has caught up with its topics (real Kafka and
database): a worker reading history again must not announce lapses of a half-read past."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pymongo.database import Database

from events import Envelope
from events.bot_actions import TrialRequested
from events.registry import TopicNames
from keyland.kafka.admin import extents, plain_consumer
from keyland.kafka.catch_up import CatchUp
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document, async_database
from keyland.settings import KafkaSettings, MongoSettings
from services.subscription.adapters.schedule import Schedule
from services.subscription.expiry import ExpirySweeper
from tests.user_docs import stored_user

NOW = datetime.now(UTC).replace(microsecond=0)


async def commit(kafka: KafkaSettings, group: str, offsets: dict[TopicPartition, int]) -> None:
    async with plain_consumer(kafka.bootstrap, group_id=group) as consumer:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})


async def publish_trials(publisher: EventPublisher, count: int) -> None:
    for telegram_id in range(1, count + 1):
        event = TrialRequested(telegram_id=telegram_id)
        await publisher.publish(Envelope.new(event, producer="tests", occurred_at=NOW))


async def test_a_group_is_behind_until_it_read_what_was_there_at_the_first_look(
    publisher: EventPublisher, kafka_settings: KafkaSettings, topics: TopicNames, isolation: str
) -> None:
    await publish_trials(publisher, 6)
    group, topic = f"{isolation}-catching-up", topics("bot.actions")
    async with plain_consumer(kafka_settings.bootstrap) as consumer:
        ends = {tp: span.end for tp, span in (await extents(consumer, topic)).items()}
    caught_up = CatchUp(kafka_settings.bootstrap, group, [topic])
    assert not await caught_up()

    await publish_trials(publisher, 3)  # arrived after the first look: not waited for
    [lagging, *_] = [tp for tp, end in ends.items() if end > 0]
    await commit(kafka_settings, group, {tp: e for tp, e in ends.items() if tp != lagging})
    assert not await caught_up()  # one partition still behind
    await commit(kafka_settings, group, {lagging: ends[lagging]})
    assert await caught_up()
    await publish_trials(publisher, 2)
    assert await caught_up()  # once caught up, it stays so


@pytest.fixture
async def sweeper_parts(
    mongo_settings: MongoSettings, publisher: EventPublisher
) -> AsyncIterator[tuple[ExpirySweeper, list[bool]]]:
    handle = async_database(mongo_settings, app_name="tests")
    ready: list[bool] = [False]

    async def caught_up() -> bool:
        return ready[0]

    schedule = Schedule(handle["expiry_due"], clock=lambda: NOW)
    sweeper = ExpirySweeper(
        handle["users"],
        handle["expiry_marks"],
        schedule,
        publisher,
        lookback=timedelta(days=30),
        caught_up=caught_up,
    )
    await schedule.file(9001, NOW - timedelta(hours=1))
    yield sweeper, ready
    await handle.client.close()


async def test_the_sweep_announces_nothing_before_the_group_caught_up(
    sweeper_parts: tuple[ExpirySweeper, list[bool]], db: Database[Document]
) -> None:
    sweeper, ready = sweeper_parts
    until = NOW - timedelta(hours=1)
    db.users.insert_one(stored_user(9001, registered=True, until=until, key_id=str(uuid.uuid4())))
    assert await sweeper.sweep(NOW) == 0
    assert db.expiry_marks.count_documents({}) == 0
    ready[0] = True
    assert await sweeper.sweep(NOW) == 1
    assert [m["_id"] for m in db.expiry_marks.find()] == [f"9001:{until.isoformat()}"]
