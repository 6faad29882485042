"""Consuming records in batches, safely (the one consume path of every worker).

faust's ``Stream.take_events`` hands the agent up to ``size`` records at once, waiting at
most ``wait_s`` for more, and acks the whole batch when the agent asks for the next one:
after every effect the body awaited. Its ``finally`` also acks when the body is left by
an exception or a cancellation, so a batch must never be abandoned half-done:

- transient failures (database or Kafka away) are retried inside the body until they
  pass, so the partition waits instead of skipping;
- a record that cannot be decoded goes to the DLQ on its own before the batch runs;
- when a batch handler fails for any other reason, the batch is applied again one record
  at a time (handlers are idempotent by event id), so only the record at fault reaches
  the DLQ and the others are applied;
- a stop (cancellation) arriving mid-batch waits for the batch to finish before it goes
  on, so the acks that follow never cover an effect that did not happen.

Records of one partition keep their order inside a batch; batches mix partitions, and a
batch handler must keep the order of each key (one user) while it may interleave users.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from events import Envelope, Event, decode
from events.registry import TopicNames
from keyland.kafka.dlq import DeadLetters, FailedRecord
from keyland.observability import metrics
from keyland.observability.logs import event_context
from keyland.retry import retry_transient

log = logging.getLogger(__name__)

Handler = Callable[[Envelope[Event]], Awaitable[None]]
BatchHandler = Callable[[Sequence[Envelope[Event]]], Awaitable[None]]


T = TypeVar("T")
R = TypeVar("R")


SIDE_BY_SIDE = 16


async def side_by_side(items: Iterable[T], work: Callable[[T], Awaitable[R]]) -> list[R]:
    """``work`` on every item (one user each: their writes never meet), ``SIDE_BY_SIDE``
    at a time (the bound keeps a batch within the process's database pool), in the
    items' order; the first failure is raised only after every one has ended, so a
    retry of the batch never overlaps a write still under way for the same user."""
    room = asyncio.Semaphore(SIDE_BY_SIDE)

    async def bounded(item: T) -> R:
        async with room:
            return await work(item)

    outcomes = await asyncio.gather(*(bounded(item) for item in items), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return cast(list[R], outcomes)


async def all_of(*steps: Awaitable[object]) -> None:
    """Independent steps of a batch (writes to different collections, a publish) at once:
    the batch waits for the slowest instead of their sum. As in :func:`side_by_side`, the
    first failure is raised only after every step has ended."""
    outcomes = await asyncio.gather(*steps, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


@dataclass(frozen=True)
class BatchLimits:
    """How many records a batch takes at most, and how long it waits to fill up."""

    size: int = 200
    wait_s: float = 0.01


DEFAULT_LIMITS = BatchLimits()


@dataclass(frozen=True)
class _Decoded:
    envelope: Envelope[Event]
    topic: str
    message: Any


class BatchConsumer:
    """Decode, handle, dead-letter: what the agent does with each batch it takes."""

    def __init__(
        self,
        consumer: str,
        topics: TopicNames,
        handle: Handler,
        dead_letters: DeadLetters,
        handle_batch: BatchHandler | None = None,
    ) -> None:
        self._consumer = consumer
        self._topics = topics
        self._handle = handle
        self._handle_batch = handle_batch
        self._dead_letters = dead_letters

    async def run(self, stream: Any, limits: BatchLimits) -> None:
        async for events in stream.take_events(limits.size, within=limits.wait_s):
            work = asyncio.ensure_future(self.process([event.message for event in events]))
            try:
                await asyncio.shield(work)
            except asyncio.CancelledError:
                await work  # finish the effects before the batch is acked, then stop
                raise

    async def process(self, messages: Sequence[Any]) -> None:
        decoded: list[_Decoded] = []
        for message in messages:
            topic = self._topics.base(message.topic)
            try:
                decoded.append(_Decoded(decode(message.value, topic=topic), topic, message))
            except Exception as error:  # noqa: BLE001 - an undecodable record is its own fault
                await self._dead_letter(message, topic, "undecodable", error)
        if not decoded:
            return
        if self._handle_batch is not None and len(decoded) > 1 and await self._batch(decoded):
            return
        for item in decoded:
            await self._one(item)

    async def _batch(self, items: list[_Decoded]) -> bool:
        """Apply the whole batch at once; False when it must be retried record by record."""
        assert self._handle_batch is not None
        envelopes = [item.envelope for item in items]
        started = time.perf_counter()
        try:
            await retry_transient(functools.partial(self._handle_batch, envelopes))
        except Exception as error:  # noqa: BLE001 - isolate the record at fault below
            log.warning("batch of %d failed (%r); applying it record by record", len(items), error)
            return False
        took = time.perf_counter() - started
        for item in items:
            self._count(item, took / len(items))
            envelope = item.envelope
            with event_context(envelope.event_id, envelope.correlation_id, envelope.type):
                log.info(
                    "handled %s from %s in a batch of %d (%.1f ms)",
                    envelope.type,
                    item.topic,
                    len(items),
                    took * 1000,
                )
        return True

    async def _one(self, item: _Decoded) -> None:
        envelope = item.envelope
        with event_context(envelope.event_id, envelope.correlation_id, envelope.type):
            started = time.perf_counter()
            try:
                await retry_transient(functools.partial(self._handle, envelope))
            except Exception as error:  # noqa: BLE001 - anything not transient is this record's fault
                # Invalid records (PermanentError) and failures no retry can cure (the
                # database refusing a document, a bug) go to the DLQ with their error, so
                # the partition keeps moving and the record waits for a redrive.
                await self._dead_letter(item.message, item.topic, envelope.type, error)
                return
            took = time.perf_counter() - started
            self._count(item, took)
            log.info("handled %s from %s in %.1f ms", envelope.type, item.topic, took * 1000)

    def _count(self, item: _Decoded, took: float) -> None:
        kind = item.envelope.type
        metrics.EVENT_HANDLING_SECONDS.labels(self._consumer, kind).observe(took)
        metrics.EVENTS_PROCESSED.labels(self._consumer, item.topic, kind).inc()

    async def _dead_letter(self, message: Any, topic: str, kind: str, error: Exception) -> None:
        log.warning(
            "dead-lettering %s[%s]@%s: %r", message.topic, message.partition, message.offset, error
        )
        record = FailedRecord(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
            headers=list(message.headers or []),
        )
        await retry_transient(functools.partial(self._dead_letters.send, record, error))
        metrics.EVENTS_FAILED.labels(self._consumer, topic, kind, type(error).__name__).inc()
