"""Replay: move a stopped consumer group back on one source topic.

Our consumers are idempotent by event id, so a replay re-reads without re-applying; it
rebuilds what a fresh database lacks. Only catalog source topics can be replayed (never a
DLQ, faust's internal or changelog topics), only for a group the broker knows, and only
while the group has no members: resetting under a running consumer would be overwritten by
its next commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata

from events.registry import TopicNames
from keyland.kafka.admin import committed, extents, group_members, plain_consumer


class ReplayRefused(RuntimeError):
    """The replay would be unsafe or means nothing; the message says why."""


@dataclass(frozen=True)
class Move:
    partition: int
    current: int | None
    target: int


async def _require_stopped(bootstrap: str, group: str) -> None:
    members = await group_members(bootstrap, group)
    if members is None:
        raise ReplayRefused(
            f"group {group!r} does not exist (a typo? `keyland lag` lists the groups)"
        )
    if members:
        raise ReplayRefused(
            f"group {group!r} has {members} active member(s); stop its consumers first"
        )


async def plan_replay(
    bootstrap: str,
    names: TopicNames,
    topic: str,
    group: str,
    *,
    from_offset: int | None = None,
    from_time: datetime | None = None,
) -> list[Move]:
    """Where each partition of ``topic`` would restart for ``group``; refused for a group
    the broker does not know (committing would create it, so a typo would go unnoticed)."""
    if (from_offset is None) == (from_time is None):
        raise ReplayRefused("give exactly one of --from-offset and --from-time")
    try:
        base = names.base(topic)
    except KeyError as error:
        raise ReplayRefused(f"{topic!r} is not a source topic of the catalog") from error
    if topic != names(base):
        raise ReplayRefused(f"{topic!r} is a dead-letter topic; use `keyland dlq redrive`")
    await _require_stopped(bootstrap, group)
    current = await committed(bootstrap, group)
    async with plain_consumer(bootstrap) as consumer:
        spans = await extents(consumer, topic)
        if from_time is not None:
            found = await consumer.offsets_for_times(
                {tp: int(from_time.timestamp() * 1000) for tp in spans}
            )
            targets = {tp: (hit.offset if hit else spans[tp].end) for tp, hit in found.items()}
        else:
            assert from_offset is not None
            targets = {
                tp: min(max(from_offset, span.beginning), span.end) for tp, span in spans.items()
            }
    return [
        Move(tp.partition, current.get(tp), targets[tp])
        for tp in sorted(spans, key=lambda t: t.partition)
    ]


async def apply_replay(bootstrap: str, topic: str, group: str, moves: list[Move]) -> None:
    """Commit the planned offsets for ``group`` (re-checking it still exists, empty)."""
    await _require_stopped(bootstrap, group)
    async with plain_consumer(bootstrap, group_id=group) as consumer:
        partitions = [TopicPartition(topic, move.partition) for move in moves]
        consumer.assign(partitions)
        await consumer.commit(
            {
                tp: OffsetAndMetadata(move.target, "keyland replay")
                for tp, move in zip(partitions, moves, strict=True)
            }
        )
