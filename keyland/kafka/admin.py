"""Kafka facts the workers and the operator tools need: group members, committed offsets,
topic extents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


@dataclass(frozen=True)
class Extent:
    """The offsets a partition holds now: [beginning, end)."""

    beginning: int
    end: int


@asynccontextmanager
async def admin_client(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@asynccontextmanager
async def plain_consumer(
    bootstrap: str, group_id: str | None = None
) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer that joins no group (``assign`` only); with ``group_id`` it can commit
    offsets for that group, which Kafka accepts while the group has no members."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def group_members(bootstrap: str, group: str) -> int | None:
    """The members ``group`` has now, or None when the broker knows no such group (it
    describes an unknown group as ``Dead`` rather than failing)."""
    async with admin_client(bootstrap) as admin:
        described = await admin.describe_consumer_groups([group])
    found = [g for response in described for g in response.groups]
    if all(g[2] == "Dead" for g in found):
        return None
    return sum(len(g[5]) for g in found)


async def committed(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    async with admin_client(bootstrap) as admin:
        offsets = await admin.list_consumer_group_offsets(group)
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def groups(bootstrap: str) -> list[str]:
    async with admin_client(bootstrap) as admin:
        listed = await admin.list_consumer_groups()
    return sorted(str(group[0]) for group in listed)


async def extents(consumer: AIOKafkaConsumer, topic: str) -> dict[TopicPartition, Extent]:
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    beginnings = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    return {tp: Extent(beginnings[tp], ends[tp]) for tp in tps}
