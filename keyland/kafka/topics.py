"""Idempotent topic creation from the catalog."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError, for_code

from events.registry import TOPICS, TopicNames, TopicSpec
from keyland.kafka.admin import admin_client
from keyland.retry import retry_transient

_ALREADY_EXISTS = TopicAlreadyExistsError.errno


# Copies of each partition a cluster of three brokers or more keeps, and how many of
# them must have a write before an ``acks=all`` producer hears it succeeded.
FULL_REPLICATION = 3


def replication_for(brokers: int) -> int:
    """Three copies of each partition on three brokers or more; one per broker below."""
    return min(brokers, FULL_REPLICATION)


def min_insync_for(replication_factor: int) -> int:
    """Two copies in sync once there are three, so one broker may be lost without
    refusing writes; otherwise one (a smaller cluster cannot spare a broker anyway)."""
    return 2 if replication_factor >= FULL_REPLICATION else 1


async def ensure_topics(
    bootstrap: str,
    topics: TopicNames,
    specs: tuple[TopicSpec, ...] = TOPICS,
    *,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
) -> list[str]:
    """Create every catalog topic and its DLQ that does not exist yet; return the created.

    Unless asked otherwise, the replication follows the brokers the cluster has now
    (:func:`replication_for`: 3 from three brokers, so 1 on the local one-broker stack)
    and ``min.insync.replicas`` the replication (:func:`min_insync_for`: 2 of 3), so an
    event our producers saw acknowledged (``acks=all``) is on two brokers at least.
    Create them while every broker is up: a cluster missing one counts fewer.

    ``create_topics`` does not raise when a topic exists (error code 36), so the
    response is checked: "already exists" is fine, any other error code raises.
    """
    async with admin_client(bootstrap) as admin:
        if replication_factor is None:
            cluster = await admin.describe_cluster()
            replication_factor = replication_for(len(cluster["brokers"]))
        if min_insync_replicas is None:
            min_insync_replicas = min_insync_for(replication_factor)
        configs = {"min.insync.replicas": str(min_insync_replicas)}
        wanted = [
            NewTopic(name, spec.partitions, replication_factor, topic_configs=configs)
            for spec in specs
            for name in (topics(spec.name), topics.dlq(spec.name))
        ]
        response = await admin.create_topics(wanted)
    created = []
    for name, code, *_ in response.topic_errors:
        if code == 0:
            created.append(name)
        elif code != _ALREADY_EXISTS:
            raise for_code(code)(f"cannot create topic {name}")
    return created


class TopicsMissing(RuntimeError):
    """The topics a worker reads are not in the broker's metadata."""


async def _connected(bootstrap: str, give_up_after_s: float) -> AIOKafkaConsumer:
    """A started consumer, the broker waited for while it does not answer (restarting)."""

    async def connect() -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        try:
            await consumer.start()
        except KafkaConnectionError as error:
            await consumer.stop()
            raise ConnectionError(f"Kafka at {bootstrap} does not answer: {error}") from error
        return consumer

    return await retry_transient(connect, give_up_after_s=give_up_after_s)


async def wait_until_visible(bootstrap: str, names: list[str], timeout_s: float = 60) -> None:
    """Wait until the broker's metadata lists ``names``.

    A faust worker that subscribes before that ignores the missing topics and idles until
    its next metadata refresh, minutes later; so workers wait here first, and fail with
    the names when the topics never appear. A broker that does not answer yet is waited
    for within the same time: a worker started while its broker restarts used to exit at
    once (seen in the fault drill).
    """
    deadline = time.monotonic() + timeout_s
    consumer = await _connected(bootstrap, timeout_s)
    try:
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
