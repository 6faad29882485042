"""Read what landed on a topic, for assertions on published facts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from events import Envelope, Event, decode
from keyland.kafka.admin import admin_client


async def assign_whole_topic(consumer: AIOKafkaConsumer, topic: str, deadline: float) -> None:
    """Assign every partition of ``topic`` (waiting, until ``deadline``, for it to appear
    in the metadata)."""
    partitions = consumer.partitions_for_topic(topic)
    while not partitions and time.monotonic() < deadline:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
        await asyncio.sleep(0.1)
    consumer.assign([TopicPartition(topic, p) for p in partitions or ()])


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[Envelope[Event]]], bool] = lambda _: False,
    timeout_s: float = 30,
) -> list[Envelope[Event]]:
    """Every event on ``topic`` from the start, read until ``until`` holds or the end is
    reached and ``timeout_s`` passed (then whatever is there)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        await assign_whole_topic(consumer, topic, deadline)
        found: list[Envelope[Event]] = []
        while time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                found += [decode(record.value) for record in batch]
            if until(found):
                break
        return found
    finally:
        await consumer.stop()


async def delete_topics_starting(bootstrap: str, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix``; the deleted names. A broker
    that does not answer (a test stopped it) deletes nothing: the next start's tests do
    not need these topics."""
    try:
        async with admin_client(bootstrap) as admin:
            doomed = [name for name in await admin.list_topics() if name.startswith(prefix)]
            if doomed:
                await admin.delete_topics(doomed, timeout_ms=30_000)
    except (KafkaError, OSError):
        return []
    return doomed
