"""Consumer groups in tests: how far behind they are, and rewinding them (``keyland replay``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from events.registry import TopicNames
from keyland.kafka.admin import committed, extents, plain_consumer
from keyland.settings import KafkaSettings
from keyland_tools.ops.replay import ReplayRefused, apply_replay, plan_replay


async def behind(bootstrap: str, topics: TopicNames, groups: Mapping[str, Sequence[str]]) -> int:
    """Records the groups have yet to read on their input topics."""
    missing = 0
    async with plain_consumer(bootstrap) as consumer:
        for group, bases in groups.items():
            done = await committed(bootstrap, group)
            for base in bases:
                for tp, span in (await extents(consumer, topics(base))).items():
                    missing += span.end - done.get(tp, span.beginning)
    return missing


async def rewind(
    kafka: KafkaSettings, topics: TopicNames, groups: Mapping[str, Sequence[str]]
) -> None:
    """Every group back to offset 0 on each of its topics, once its members have left."""
    for group, bases in groups.items():
        for base in bases:
            deadline = time.monotonic() + 60
            while True:
                try:
                    moves = await plan_replay(
                        kafka.bootstrap, topics, topics(base), group, from_offset=0
                    )
                    await apply_replay(kafka.bootstrap, topics(base), group, moves)
                    break
                except ReplayRefused:
                    assert time.monotonic() < deadline, f"group {group} kept its members"
                    await asyncio.sleep(1)
