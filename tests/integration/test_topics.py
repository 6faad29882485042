"""``keyland topics ensure``: the catalog's topics with the durability settings asked for."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidReplicationFactorError
from typer.testing import CliRunner

from events.registry import TOPICS, TopicNames
from keyland.kafka.admin import admin_client
from keyland.kafka.topics import ensure_topics, wait_until_visible
from keyland.settings import KafkaSettings
from keyland_tools.cli import app
from tests.processes import free_port


async def min_insync(bootstrap: str, topic: str) -> str:
    """The topic's setting; a topic created a moment ago may list no configs yet."""
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, {"min.insync.replicas": None})
    async with admin_client(bootstrap) as admin:
        for _ in range(50):
            [response] = await admin.describe_configs([resource])
            [(_, _, _, _, entries)] = response.resources
            if entries:
                [(_, value, *_)] = entries
                return str(value)
            await asyncio.sleep(0.2)
    raise AssertionError(f"{topic} lists no min.insync.replicas")


def test_cli_creates_every_topic_with_the_min_insync_replicas_asked_for(
    kafka_settings: KafkaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"topics{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("KEYLAND_KAFKA_BOOTSTRAP", kafka_settings.bootstrap)
    monkeypatch.setenv("KEYLAND_KAFKA_TOPIC_PREFIX", prefix)
    args = ["topics", "ensure", "--replication-factor", "1", "--min-insync-replicas", "1"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert f"{2 * len(TOPICS)} topics created" in first.output
    again = CliRunner().invoke(app, args)
    assert "0 topics created" in again.output


async def test_min_insync_replicas_is_set_on_topics_and_dead_letter_topics(
    kafka_settings: KafkaSettings,
) -> None:
    # 2 on a one-broker cluster: nothing is produced to these, and 2 differs from the
    # broker's default of 1, so the topic's own setting is what is read back.
    names = TopicNames(f"isr{uuid.uuid4().hex[:8]}.")
    await ensure_topics(kafka_settings.bootstrap, names, min_insync_replicas=2)
    assert await min_insync(kafka_settings.bootstrap, names("payments")) == "2"
    assert await min_insync(kafka_settings.bootstrap, names.dlq("payments")) == "2"


async def test_a_replication_factor_the_cluster_cannot_hold_is_refused(
    kafka_settings: KafkaSettings,
) -> None:
    names = TopicNames(f"rf{uuid.uuid4().hex[:8]}.")
    with pytest.raises(InvalidReplicationFactorError):
        await ensure_topics(kafka_settings.bootstrap, names, replication_factor=3)


def test_min_insync_above_the_replication_factor_is_refused_before_kafka_is_asked() -> None:
    result = CliRunner().invoke(
        app, ["topics", "ensure", "--replication-factor", "1", "--min-insync-replicas", "2"]
    )
    assert result.exit_code == 2
    assert "cannot exceed" in result.output


async def test_a_worker_waits_for_a_broker_that_answers_only_later(
    kafka_settings: KafkaSettings, created_topics: TopicNames
) -> None:
    """The bootstrap address accepts nothing for the first second and a half (a broker
    restarting), then leads to the real broker: the wait goes on and ends once the
    topics are seen, instead of failing at the first refused connection."""
    broker_host, broker_port = kafka_settings.bootstrap.rsplit(":", 1)
    address = free_port()

    async def forward(client: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            broker_host, int(broker_port)
        )

        async def pipe(reader: asyncio.StreamReader, to: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(65536):
                    to.write(data)
                    await to.drain()
            to.close()

        await asyncio.gather(pipe(client, upstream_writer), pipe(upstream_reader, writer))

    waiting = asyncio.create_task(
        wait_until_visible(f"127.0.0.1:{address}", [created_topics("payments")], timeout_s=30)
    )
    await asyncio.sleep(1.5)
    assert not waiting.done(), "gave up, or connected to nothing"
    server = await asyncio.start_server(forward, "127.0.0.1", address)
    async with server:
        await asyncio.wait_for(waiting, 30)


async def test_a_broker_that_never_answers_fails_the_wait_in_time() -> None:
    with pytest.raises(ConnectionError, match="does not answer"):
        await wait_until_visible(f"127.0.0.1:{free_port()}", ["payments"], timeout_s=1)
