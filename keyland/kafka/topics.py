"""Idempotent topic creation from the catalog."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from events.registry import TOPICS, TopicNames, TopicSpec

_ALREADY_EXISTS = TopicAlreadyExistsError.errno


async def ensure_topics(
    bootstrap: str,
    topics: TopicNames,
    specs: tuple[TopicSpec, ...] = TOPICS,
    *,
    replication_factor: int = 1,
    min_insync_replicas: int | None = None,
) -> list[str]:
    """Create every catalog topic and its DLQ that does not exist yet; return the created.

    Locally one broker: replication 1. In production 3 and ``min_insync_replicas=2``, so
    an event our producers saw acknowledged (``acks=all``) is on two brokers at least.

    ``create_topics`` does not raise when a topic exists (error code 36), so the
    response is checked: "already exists" is fine, any other error code raises.
    """
    configs = (
        {} if min_insync_replicas is None else {"min.insync.replicas": str(min_insync_replicas)}
    )
    wanted = [
        NewTopic(name, spec.partitions, replication_factor, topic_configs=configs)
        for spec in specs
        for name in (topics(spec.name), topics.dlq(spec.name))
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(wanted)
    finally:
        await admin.close()
    created = []
    for name, code, *_ in response.topic_errors:
        if code == 0:
            created.append(name)
        elif code != _ALREADY_EXISTS:
            raise for_code(code)(f"cannot create topic {name}")
    return created


class TopicsMissing(RuntimeError):
    """The topics a worker reads are not in the broker's metadata."""


async def wait_until_visible(bootstrap: str, names: list[str], timeout_s: float = 60) -> None:
    """Wait until the broker's metadata lists ``names``.

    A faust worker that subscribes before that ignores the missing topics and idles until
    its next metadata refresh, minutes later; so workers wait here first, and fail with
    the names when the topics never appear.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while not all(consumer.partitions_for_topic(name) for name in names):
            if time.monotonic() > deadline:
                missing = [n for n in names if not consumer.partitions_for_topic(n)]
                raise TopicsMissing(
                    f"topics {missing} do not exist; create them (keyland stack up)"
                )
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
    finally:
        await consumer.stop()
