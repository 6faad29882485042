"""Consumer lag: how far each group is behind the end of each topic it reads."""

from __future__ import annotations

from dataclasses import dataclass

from keyland.ops.kafka_admin import committed, extents, groups, plain_consumer


@dataclass(frozen=True)
class Lag:
    group: str
    topic: str
    lag: int


async def lags(bootstrap: str, prefix: str = "") -> list[Lag]:
    found: list[Lag] = []
    async with plain_consumer(bootstrap) as consumer:
        for group in await groups(bootstrap):
            offsets = await committed(bootstrap, group)
            by_topic: dict[str, int] = {}
            for topic in sorted({tp.topic for tp in offsets if tp.topic.startswith(prefix)}):
                spans = await extents(consumer, topic)
                by_topic[topic] = sum(
                    span.end - offsets.get(tp, span.beginning) for tp, span in spans.items()
                )
            found += [Lag(group, topic, lag) for topic, lag in by_topic.items()]
    return found
