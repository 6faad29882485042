"""``keyland topics ensure``: the catalog's topics with the durability settings asked for."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidReplicationFactorError
from typer.testing import CliRunner

from events.registry import TOPICS, TopicNames
from keyland.kafka.admin import admin_client
from keyland.kafka.topics import ensure_topics
from keyland.settings import KafkaSettings
from keyland_tools.cli import app


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
