"""The operator's tools against the real broker: replay and dead letters."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer
from typer.testing import CliRunner

from events import Envelope, decode, encode
from events.bot_actions import TrialRequested
from events.registry import TopicNames
from keyland.kafka.admin import committed, extents, plain_consumer
from keyland.kafka.dlq import DeadLetters, FailedRecord
from keyland.kafka.producer import EventPublisher
from keyland.settings import KafkaSettings
from keyland_tools.cli import app
from keyland_tools.ops import dlq
from keyland_tools.ops.replay import ReplayRefused, apply_replay, plan_replay
from tests.kafka_tail import read_topic


def trial(telegram_id: int) -> Envelope[TrialRequested]:
    return Envelope.new(
        TrialRequested(telegram_id=telegram_id), producer="tests", occurred_at=datetime.now(UTC)
    )


class TestReplay:
    async def test_replay_is_refused_while_the_group_has_members(
        self,
        publisher: EventPublisher,
        kafka_settings: KafkaSettings,
        topics: TopicNames,
        isolation: str,
    ) -> None:
        group = f"{isolation}-busy"
        member = AIOKafkaConsumer(
            topics("bot.actions"), bootstrap_servers=kafka_settings.bootstrap, group_id=group
        )
        await member.start()
        try:
            await member.getmany(timeout_ms=2000)
            with pytest.raises(ReplayRefused, match="active member"):
                await plan_replay(
                    kafka_settings.bootstrap, topics, topics("bot.actions"), group, from_offset=0
                )
        finally:
            await member.stop()

    @pytest.mark.parametrize("topic", ["bot.actions.dlq", "__consumer_offsets", "not-ours"])
    async def test_only_catalog_source_topics_can_be_replayed(
        self, created_topics: TopicNames, kafka_settings: KafkaSettings, topic: str
    ) -> None:
        actual = (
            created_topics(topic.removesuffix(".dlq")) + ".dlq" if topic.endswith(".dlq") else topic
        )
        with pytest.raises(ReplayRefused):
            await plan_replay(
                kafka_settings.bootstrap, created_topics, actual, "any", from_offset=0
            )

    async def test_replay_rewinds_a_stopped_group(
        self,
        publisher: EventPublisher,
        kafka_settings: KafkaSettings,
        topics: TopicNames,
        isolation: str,
    ) -> None:
        for telegram_id in range(1, 13):
            await publisher.publish(trial(telegram_id))
        group, topic = f"{isolation}-reader", topics("bot.actions")
        reader = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_settings.bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
        )
        await reader.start()
        read = 0
        while read < 12:
            read += sum(len(b) for b in (await reader.getmany(timeout_ms=2000)).values())
        await reader.commit()
        await reader.stop()
        assert sum((await committed(kafka_settings.bootstrap, group)).values()) >= 12

        moves = await plan_replay(kafka_settings.bootstrap, topics, topic, group, from_offset=0)
        assert all(move.target == 0 for move in moves)
        assert sum(move.current or 0 for move in moves) >= 12
        await apply_replay(kafka_settings.bootstrap, topic, group, moves)
        after = await committed(kafka_settings.bootstrap, group)
        assert {tp.partition: offset for tp, offset in after.items() if tp.topic == topic} == {
            m.partition: 0 for m in moves
        }

    async def test_replay_by_time_lands_after_older_records(
        self,
        publisher: EventPublisher,
        kafka_settings: KafkaSettings,
        topics: TopicNames,
        isolation: str,
    ) -> None:
        group = f"{isolation}-late"
        await _stopped_group(kafka_settings.bootstrap, topics("bot.actions"), group)
        moves = await plan_replay(
            kafka_settings.bootstrap,
            topics,
            topics("bot.actions"),
            group,
            from_time=datetime.now(UTC),
        )
        ends = await _ends(kafka_settings.bootstrap, topics("bot.actions"))
        assert {m.partition: m.target for m in moves} == ends

    async def test_replay_from_a_time_in_the_middle_re_reads_exactly_the_later_records(
        self,
        publisher: EventPublisher,
        kafka_settings: KafkaSettings,
        topics: TopicNames,
        isolation: str,
    ) -> None:
        group, topic = f"{isolation}-middle", topics("bot.actions")
        earlier = [trial(telegram_id) for telegram_id in range(20_001, 20_013)]
        later = [trial(telegram_id) for telegram_id in range(20_013, 20_025)]
        for envelope in earlier:
            await publisher.publish(envelope)
        await asyncio.sleep(1.1)
        middle = datetime.now(UTC).replace(microsecond=0)  # over a second after `earlier`
        await asyncio.sleep(1.1)
        for envelope in later:
            await publisher.publish(envelope)
        first = await _read_to_the_end(kafka_settings.bootstrap, topic, group)
        assert {e.event_id for e in [*earlier, *later]} <= first

        env = {
            "KEYLAND_KAFKA_BOOTSTRAP": kafka_settings.bootstrap,
            "KEYLAND_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
        }
        arguments = ["replay", "--topic", topic, "--group", group]
        result = await asyncio.to_thread(  # the command runs its own event loop
            CliRunner().invoke, app, [*arguments, "--from-time", middle.isoformat()], env=env
        )
        assert result.exit_code == 0, result.output
        again = await _read_to_the_end(kafka_settings.bootstrap, topic, group)
        assert again == {e.event_id for e in later}

    @pytest.mark.parametrize("dry_run", [["--dry-run"], []], ids=["dry run", "for real"])
    def test_replay_of_a_group_that_does_not_exist_is_refused(
        self,
        created_topics: TopicNames,
        kafka_settings: KafkaSettings,
        isolation: str,
        dry_run: list[str],
    ) -> None:
        group = f"{isolation}-misspelt"
        env = {
            "KEYLAND_KAFKA_BOOTSTRAP": kafka_settings.bootstrap,
            "KEYLAND_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
        }
        arguments = ["replay", "--topic", created_topics("bot.actions"), "--group", group]
        result = CliRunner().invoke(app, [*arguments, "--from-offset", "0", *dry_run], env=env)
        assert result.exit_code == 2
        assert f"group '{group}' does not exist" in result.stderr
        assert result.stdout == ""
        assert asyncio.run(committed(kafka_settings.bootstrap, group)) == {}  # not created


async def _stopped_group(bootstrap: str, topic: str, group: str) -> None:
    """A group that joined on ``topic``, committed its positions and left."""
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group)
    await reader.start()
    try:
        while not reader.assignment():
            await reader.getmany(timeout_ms=500)
        await reader.commit({tp: await reader.position(tp) for tp in reader.assignment()})
    finally:
        await reader.stop()


async def _read_to_the_end(bootstrap: str, topic: str, group: str) -> set[uuid.UUID]:
    """What ``group`` reads of ``topic`` from its committed positions (or the start) to the
    end, committed: the event ids."""
    reader = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        while not reader.assignment():
            await reader.getmany(timeout_ms=500)
        ends = await reader.end_offsets(list(reader.assignment()))
        read: set[uuid.UUID] = set()
        while any([await reader.position(tp) < end for tp, end in ends.items()]):
            for batch in (await reader.getmany(timeout_ms=500)).values():
                read |= {decode(record.value).event_id for record in batch}
        await reader.commit()
        return read
    finally:
        await reader.stop()


class TestDeadLetters:
    async def test_dead_letters_are_counted_shown_and_redriven_once(
        self, publisher: EventPublisher, kafka_settings: KafkaSettings, topics: TopicNames
    ) -> None:
        refused = trial(4242)
        source = topics("bot.actions")
        record = FailedRecord(
            source,
            0,
            7,
            refused.key,
            encode(refused),
            [("event_id", str(refused.event_id).encode())],
        )
        await DeadLetters(publisher, "tests-consumer").send(record, ValueError("database said no"))

        counts = await dlq.counts(kafka_settings.bootstrap, topics)
        assert counts[topics.dlq("bot.actions")] == (1, 1)
        [letter] = await dlq.read(
            kafka_settings.bootstrap, topics.dlq("bot.actions"), only_waiting=True
        )
        assert letter.error == "ValueError: database said no"
        assert letter.headers["dlq.source.offset"] == b"7"

        assert (
            await dlq.redrive(kafka_settings.bootstrap, publisher, topics.dlq("bot.actions")) == 1
        )
        assert (
            await dlq.redrive(kafka_settings.bootstrap, publisher, topics.dlq("bot.actions")) == 0
        )
        again = [
            e
            for e in await read_topic(kafka_settings.bootstrap, source, timeout_s=2)
            if e.event_id == refused.event_id
        ]
        assert len(again) == 1
        assert (await dlq.counts(kafka_settings.bootstrap, topics))[topics.dlq("bot.actions")] == (
            1,
            0,
        )


async def _ends(bootstrap: str, topic: str) -> dict[int, int]:
    async with plain_consumer(bootstrap) as consumer:
        return {tp.partition: span.end for tp, span in (await extents(consumer, topic)).items()}
