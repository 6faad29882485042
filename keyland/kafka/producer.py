"""The idempotent event publisher: an event counts as published only once Kafka acked it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Sequence
from typing import Self, TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber, UnknownProducerId
from aiokafka.structs import RecordMetadata

from events import Envelope, Event, encode
from events.registry import TopicNames
from keyland.settings import KafkaSettings

# Answers after which this producer's idempotence state is useless: only a new producer
# (a new producer id) gets records accepted again.
_SEQUENCE_LOST = (OutOfOrderSequenceNumber, UnknownProducerId)


class PublishFailed(RuntimeError):
    """Kafka did not acknowledge in time; the caller must not claim success."""


Headers = list[tuple[str, bytes]]
T = TypeVar("T")


def envelope_headers(envelope: Envelope[Event]) -> Headers:
    """Headers that let tools route and trace a record without decoding it."""
    return [
        ("event_id", str(envelope.event_id).encode()),
        ("type", envelope.type.encode()),
        ("version", str(envelope.version).encode()),
        ("correlation_id", str(envelope.correlation_id).encode()),
    ]


class EventPublisher:
    """Publishes envelopes to their catalog topic, keyed by the payload's partition key.

    The producer is idempotent (``acks=all``), so a retried send never duplicates a
    record within a session; duplicates across sessions carry the same ``event_id`` and
    consumers drop them.
    """

    def __init__(self, settings: KafkaSettings, *, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._topics = TopicNames(settings.topic_prefix)
        self._timeout_s = settings.publish_timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._start_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: KafkaSettings, *, client_id: str) -> Self:
        """The producer itself is built on :meth:`start`, inside the running loop."""
        return cls(settings, client_id=client_id)

    @property
    def topics(self) -> TopicNames:
        return self._topics

    async def start(self) -> None:
        """Connect (once). Fails with :class:`PublishFailed` when Kafka does not answer."""
        async with self._start_lock:
            if self._producer is not None:
                return
            producer = AIOKafkaProducer(
                bootstrap_servers=self._settings.bootstrap,
                client_id=self._client_id,
                enable_idempotence=True,
                acks="all",
                request_timeout_ms=int(self._timeout_s * 1000),
                linger_ms=2,
            )
            try:
                await asyncio.wait_for(producer.start(), self._timeout_s)
            except (KafkaError, OSError, TimeoutError) as error:
                await producer.stop()
                raise PublishFailed(f"cannot connect to Kafka: {error!r}") from error
            self._producer = producer

    async def close(self) -> None:
        """Stop the producer, waiting at most the publish timeout for what it still sends:
        records Kafka keeps refusing (too few in-sync copies) would hold it forever, and
        their publishers were told they failed."""
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(KafkaError, TimeoutError):
                await asyncio.wait_for(producer.stop(), self._timeout_s)

    async def publish(self, envelope: Envelope[Event]) -> RecordMetadata:
        """Send and wait for the acknowledgement of all in-sync replicas."""
        await self.start()
        return await self.send_raw(
            self._topics.of(envelope.payload),
            key=envelope.key,
            value=encode(envelope),
            headers=envelope_headers(envelope),
        )

    async def publish_many(self, envelopes: Sequence[Envelope[Event]]) -> None:
        """Send in order (one key's records keep their order), then wait once for every
        acknowledgement: one round trip's wait for the lot, not one per record."""
        if not envelopes:
            return
        await self.start()
        producer = self._producer
        assert producer is not None

        async def send_all() -> None:
            pending = [
                await producer.send(
                    self._topics.of(envelope.payload),
                    value=encode(envelope),
                    key=envelope.key,
                    headers=envelope_headers(envelope),
                )
                for envelope in envelopes
            ]
            await asyncio.gather(*pending)

        await self._acknowledged(producer, send_all(), "its topics")

    async def send_raw(
        self, topic: str, *, key: bytes | None, value: bytes | None, headers: Headers
    ) -> RecordMetadata:
        """Send already-encoded bytes (the DLQ and redrive use this)."""
        await self.start()
        producer = self._producer
        assert producer is not None
        sent = producer.send_and_wait(topic, value=value, key=key, headers=headers)
        return await self._acknowledged(producer, sent, topic)

    async def _acknowledged(
        self, producer: AIOKafkaProducer, sending: Awaitable[T], topic: str
    ) -> T:
        """``sending``'s result once Kafka acknowledged it in time, else PublishFailed."""
        try:
            return await asyncio.wait_for(sending, self._timeout_s)
        except _SEQUENCE_LOST as error:
            await self._discard(producer)
            raise PublishFailed(
                f"Kafka lost the producer's sequence on {topic}: {error!r}"
            ) from error
        except (KafkaError, TimeoutError) as error:
            raise PublishFailed(f"Kafka did not acknowledge on {topic}: {error!r}") from error

    async def _discard(self, producer: AIOKafkaProducer) -> None:
        """Drop a producer whose sequence numbers the broker no longer accepts; the next
        send starts a new one (a new producer id). aiokafka fails a batch that waited
        too long for a partition leader (a broker restart) after it took its sequence
        number, and every later batch of that partition is then out of order for good."""
        current = self._producer
        if current is None or current is not producer:
            return  # a concurrent send replaced it already
        self._producer = None
        with contextlib.suppress(KafkaError, TimeoutError):
            await asyncio.wait_for(current.stop(), self._timeout_s)
