"""The dead-letter writer: a record that cannot be processed goes to ``<topic>.dlq``.

The DLQ record keeps the original key, value and headers untouched (so a redrive
republishes exactly what arrived) and adds ``dlq.*`` headers saying where it came from,
which consumer gave up on it, and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from events.registry import dlq_name
from keyland.kafka.producer import EventPublisher, Headers

DLQ_HEADER_PREFIX = "dlq."


@dataclass(frozen=True)
class FailedRecord:
    """A consumed record as it was read from Kafka."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers


class DeadLetters:
    """Writes failed records of one consumer to their topic's DLQ (acks=all)."""

    def __init__(self, publisher: EventPublisher, consumer: str) -> None:
        self._publisher = publisher
        self._consumer = consumer

    async def send(self, record: FailedRecord, error: BaseException) -> None:
        reason = f"{type(error).__name__}: {error}"[:4000]
        headers = [h for h in record.headers if not h[0].startswith(DLQ_HEADER_PREFIX)]
        headers += [
            ("dlq.error", reason.encode()),
            ("dlq.consumer", self._consumer.encode()),
            ("dlq.source.topic", record.topic.encode()),
            ("dlq.source.partition", str(record.partition).encode()),
            ("dlq.source.offset", str(record.offset).encode()),
            ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        await self._publisher.send_raw(
            dlq_name(record.topic), key=record.key, value=record.value, headers=headers
        )
