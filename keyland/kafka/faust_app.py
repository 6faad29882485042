"""The faust app factory and the one way an agent consumes Keyland events.

Rules from our integration notes: every agent runs at ``concurrency=1`` (faust-streaming
#606 can commit past an in-flight message otherwise); values are raw bytes decoded by
``events.codec`` in exactly one place; no faust tables as dedup sets (they survive an
offset reset and would swallow a replay) — idempotency lives in the database.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import faust
from faust.worker import Worker
from pymongo.asynchronous.database import AsyncDatabase

from events import Envelope, Event
from events.registry import TopicNames
from keyland.kafka.admin import plain_consumer
from keyland.kafka.batches import (
    DEFAULT_LIMITS,
    BatchConsumer,
    BatchHandler,
    BatchLimits,
    Handler,
)
from keyland.kafka.dlq import DeadLetters
from keyland.kafka.lag import group_lags
from keyland.kafka.owned_cache import Forgets
from keyland.kafka.producer import EventPublisher
from keyland.kafka.topics import wait_until_visible
from keyland.mongo import Document
from keyland.observability import metrics
from keyland.observability.checks import worker_checks
from keyland.observability.ops_server import OpsServer
from keyland.settings import KafkaSettings, RunsWorker, ServesOperations

log = logging.getLogger(__name__)

__all__ = [
    "BatchHandler",
    "BatchLimits",
    "Handler",
    "PermanentError",
    "consume",
    "consuming_app",
    "make_app",
]


class PermanentError(ValueError):
    """The record is valid JSON but can never be applied; it goes to the DLQ."""


def make_app(
    app_id: str,
    kafka: KafkaSettings,
    *,
    datadir: Path,
    web_port: int | None = None,
) -> faust.App:
    """A faust app on our broker; the consumer group is ``app_id``."""
    return faust.App(
        app_id,
        broker=f"kafka://{kafka.bootstrap}",
        datadir=str(datadir),
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        producer_acks=-1,
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        # Offsets are committed in the background every half second, never ahead of the
        # acks, which follow each batch's effects: a crash replays at most that much, and
        # the handlers are idempotent. (Committing every record cost a blocking
        # OffsetCommit per record per group.)
        broker_commit_every=10_000,
        broker_commit_interval=0.5,
        # A crashed worker's partitions move to a live one after 10 s, not faust's 60 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        web_host="127.0.0.1",
    )


def run_worker(app: faust.App, kafka: KafkaSettings, base_topics: tuple[str, ...]) -> None:
    """Run ``app`` as a faust worker once the topics it reads are visible."""
    names = TopicNames(kafka.topic_prefix)
    asyncio.run(wait_until_visible(kafka.bootstrap, [names(base) for base in base_topics]))
    sys.argv = [sys.argv[0], "worker"]  # faust's Worker reads its own command line
    # Logging is ours (keyland.observability.logs), configured by the entry point.
    Worker(app, loglevel="INFO", override_logging=False).execute_from_commandline()


def close_on_shutdown(app: faust.App, *closers: Callable[[], Awaitable[None]]) -> None:
    """Close the service's own clients (its publisher, its bot session) when faust stops,
    after the agents stopped consuming."""

    async def close(_: Any, /, *__: Any, signal: Any, **___: Any) -> None:
        for closer in closers:
            try:
                await closer()
            except Exception as error:  # noqa: BLE001 - the others still close
                log.warning("closing on shutdown failed: %r", error)

    app.on_before_shutdown.connect(close, weak=False)


def serve_operations(
    app: faust.App,
    kafka: KafkaSettings,
    ops: ServesOperations,
    db: AsyncDatabase[Document],
    *,
    lag_every_s: float = 15.0,
) -> None:
    """Serve the worker's ``/health`` (its database and Kafka answer) and ``/metrics`` on
    its ops port (nothing when unset), and keep its consumer-lag gauges current."""
    host, port = ops.ops_host, ops.ops_port
    if port is None:
        return
    server = OpsServer(host, port, worker_checks(db, kafka.bootstrap))
    group, prefix = app.conf.id, kafka.topic_prefix

    async def serve() -> None:
        await server.serve()

    async def refresh_lag() -> None:
        try:
            async with plain_consumer(kafka.bootstrap) as consumer:
                for lag in await group_lags(kafka.bootstrap, group, consumer, prefix):
                    metrics.CONSUMER_LAG.labels(group, lag.topic.removeprefix(prefix)).set(lag.lag)
        except Exception as error:  # noqa: BLE001 - a missed refresh shows as a stale gauge
            log.warning("consumer lag not refreshed: %r", error)

    app.task(serve)
    app.timer(interval=lag_every_s)(refresh_lag)


def consume(
    app: faust.App,
    topics: TopicNames,
    base_topics: tuple[str, ...],
    handle: Handler,
    dead_letters: DeadLetters,
    *,
    handle_batch: BatchHandler | None = None,
    limits: BatchLimits = DEFAULT_LIMITS,
) -> None:
    """Register one agent on ``base_topics``: decode, handle, dead-letter what cannot apply.

    One agent over several topics handles their records in batches (see
    :mod:`keyland.kafka.batches`), one batch at a time; with equal partition counts faust
    co-partitions them, so one user's records from every topic meet in the same agent (one
    writer per user). ``handle_batch``, when given, applies a whole batch with fewer round
    trips; otherwise each record goes through ``handle`` in order. Transient failures
    (database or Kafka away) are retried until they pass, so the partition waits rather
    than skipping; offsets are committed only after the batch's effects, or after a
    record reached the DLQ.
    """
    topic = app.topic(
        *(topics(base) for base in base_topics),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    batches = BatchConsumer(app.conf.id, topics, handle, dead_letters, handle_batch)

    async def agent(stream: Any) -> None:
        await batches.run(stream, limits)

    agent.__name__ = "consume_" + "_".join(base.replace(".", "_") for base in base_topics)
    app.agent(topic, name=f"{app.conf.id}.{agent.__name__}", concurrency=1)(agent)


class HandlesBatches(Protocol):
    """A worker's handler: one envelope at a time, or a whole batch with fewer round trips."""

    async def __call__(self, envelope: Envelope[Event], /) -> None: ...
    async def handle_batch(self, envelopes: Sequence[Envelope[Event]], /) -> None: ...


class WorkerParts(Protocol):
    """What a worker's composition root holds that every worker app needs."""

    @property
    def settings(self) -> RunsWorker: ...
    @property
    def kafka(self) -> KafkaSettings: ...
    @property
    def publisher(self) -> EventPublisher: ...
    @property
    def handler(self) -> HandlesBatches: ...
    @property
    def dead_letters(self) -> DeadLetters: ...
    @property
    def db(self) -> AsyncDatabase[Document]: ...
    @property
    def owned(self) -> Sequence[Forgets]: ...


def consuming_app(parts: WorkerParts, base_topics: tuple[str, ...]) -> faust.App:
    """A worker's app: its group, one agent over ``base_topics`` handing batches to its
    handler, and its ``/health`` and ``/metrics``; the service adds its own tasks.

    What the worker keeps of its partitions (its owned caches, see
    :mod:`keyland.kafka.owned_cache`) is emptied whenever partitions are revoked or assigned:
    faust sends both after the batch under way was acknowledged, and until then nothing
    else is consumed, so no entry outlives the ownership it was written under."""
    settings, kafka, handler = parts.settings, parts.kafka, parts.handler
    app = make_app(settings.app_id, kafka, datadir=settings.data_dir)
    topics = parts.publisher.topics
    consume(
        app, topics, base_topics, handler, parts.dead_letters, handle_batch=handler.handle_batch
    )
    forget_on_rebalance(app, parts.owned)
    serve_operations(app, kafka, settings, parts.db)
    return app


def forget_on_rebalance(app: faust.App, caches: Sequence[Forgets]) -> None:
    async def forget(_: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        for cache in caches:
            cache.clear()

    app.on_partitions_revoked.connect(forget)
    app.on_partitions_assigned.connect(forget)
