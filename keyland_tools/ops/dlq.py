"""Dead letters: count, read, and redrive them to their source topic.

A redrive republishes the original key, value and headers (without the ``dlq.*`` ones);
the position of the last redriven record is kept as the offsets of the consumer group
``keyland-dlq-redrive``, so a record is redriven once even if the command is run again.
A record that is still poison goes back to the DLQ with its new error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata

from events.registry import TOPICS, TopicNames
from keyland.kafka.admin import committed, extents, plain_consumer
from keyland.kafka.dlq import DLQ_HEADER_PREFIX
from keyland.kafka.producer import EventPublisher

REDRIVE_GROUP = "keyland-dlq-redrive"


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    @property
    def error(self) -> str:
        return self.headers.get("dlq.error", b"").decode(errors="replace")


async def counts(bootstrap: str, names: TopicNames) -> dict[str, tuple[int, int]]:
    """Per DLQ topic: (records held, records not yet redriven)."""
    redriven = await committed(bootstrap, REDRIVE_GROUP)
    found: dict[str, tuple[int, int]] = {}
    async with plain_consumer(bootstrap) as consumer:
        for spec in TOPICS:
            topic = names.dlq(spec.name)
            spans = await extents(consumer, topic)
            held = sum(s.end - s.beginning for s in spans.values())
            waiting = sum(s.end - max(s.beginning, redriven.get(tp, 0)) for tp, s in spans.items())
            found[topic] = (held, waiting)
    return found


async def read(
    bootstrap: str, topic: str, *, only_waiting: bool, limit: int | None = None
) -> list[DeadLetter]:
    """Dead letters of ``topic`` in partition and offset order (only those not redriven)."""
    start = await committed(bootstrap, REDRIVE_GROUP) if only_waiting else {}
    letters: list[DeadLetter] = []
    async with plain_consumer(bootstrap) as consumer:
        for tp, span in (await extents(consumer, topic)).items():
            first = max(span.beginning, start.get(tp, 0))
            if first >= span.end:
                continue
            consumer.assign([tp])
            consumer.seek(tp, first)
            while await consumer.position(tp) < span.end and (
                limit is None or len(letters) < limit
            ):
                for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    if record.offset < span.end:
                        letters.append(
                            DeadLetter(
                                tp.topic, tp.partition, record.offset, record.key, record.value,
                                dict(record.headers),
                            )
                        )  # fmt: skip
    return letters if limit is None else letters[:limit]


async def redrive(
    bootstrap: str,
    publisher: EventPublisher,
    topic: str,
    *,
    progress: Callable[[int], None] = lambda _: None,
) -> int:
    """Republish every waiting dead letter of ``topic`` to its source; return how many."""
    names = publisher.topics
    source = names(names.base(topic))
    letters = await read(bootstrap, topic, only_waiting=True)
    async with plain_consumer(bootstrap, group_id=REDRIVE_GROUP) as consumer:
        for letter in letters:
            headers = [
                (k, v) for k, v in letter.headers.items() if not k.startswith(DLQ_HEADER_PREFIX)
            ]
            await publisher.send_raw(source, key=letter.key, value=letter.value, headers=headers)
            tp = TopicPartition(letter.topic, letter.partition)
            consumer.assign([tp])
            await consumer.commit({tp: OffsetAndMetadata(letter.offset + 1, "redriven")})
            progress(1)
    return len(letters)
