"""Consumer lag: how far each group is behind the end of each topic it reads."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer

from keyland.kafka.admin import committed, extents, groups, plain_consumer


@dataclass(frozen=True)
class Lag:
    group: str
    topic: str
    lag: int


async def group_lags(
    bootstrap: str, group: str, consumer: AIOKafkaConsumer, prefix: str = ""
) -> list[Lag]:
    """The group's lag on each topic it committed offsets for (``prefix`` filters topics);
    a partition without a committed offset counts from its beginning."""
    offsets = await committed(bootstrap, group)
    found: list[Lag] = []
    for topic in sorted({tp.topic for tp in offsets if tp.topic.startswith(prefix)}):
        spans = await extents(consumer, topic)
        lag = sum(span.end - offsets.get(tp, span.beginning) for tp, span in spans.items())
        found.append(Lag(group, topic, lag))
    return found


async def lags(bootstrap: str, prefix: str = "") -> list[Lag]:
    async with plain_consumer(bootstrap) as consumer:
        return [
            lag
            for group in await groups(bootstrap)
            for lag in await group_lags(bootstrap, group, consumer, prefix)
        ]
