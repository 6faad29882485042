"""The faust app factory and the one way an agent consumes Keyland events.

Rules from our integration notes: every agent runs at ``concurrency=1`` (faust-streaming
#606 can commit past an in-flight message otherwise); values are raw bytes decoded by
``events.codec`` in exactly one place; no faust tables as dedup sets (they survive an
offset reset and would swallow a replay) — idempotency lives in the database.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import faust
from faust.worker import Worker
from pymongo.asynchronous.database import AsyncDatabase

from events import Envelope, Event, decode
from events.registry import TopicNames
from keyland.kafka.dlq import DeadLetters, FailedRecord
from keyland.kafka.topics import wait_until_visible
from keyland.mongo import Document
from keyland.observability import metrics
from keyland.observability.checks import worker_checks
from keyland.observability.logs import event_context
from keyland.observability.ops_server import OpsServer
from keyland.ops.kafka_admin import plain_consumer
from keyland.ops.lag import group_lags
from keyland.retry import retry_transient
from keyland.settings import KafkaSettings, ServesOperations

log = logging.getLogger(__name__)

Handler = Callable[[Envelope[Event]], Awaitable[None]]


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
        broker_commit_every=1,
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
) -> None:
    """Register one agent on ``base_topics``: decode, handle, dead-letter what cannot apply.

    One agent over several topics handles their records one at a time; with equal
    partition counts faust co-partitions them, so one user's records from every topic
    meet in the same agent (one writer per user). Transient failures (database or Kafka
    away) are retried until they pass, so the partition waits rather than skipping; the
    offset is committed only after the handler returned or the record reached the DLQ.
    """
    topic = app.topic(
        *(topics(base) for base in base_topics),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    consumer = app.conf.id

    async def apply(envelope: Envelope[Event], topic: str) -> None:
        with event_context(envelope.event_id, envelope.correlation_id, envelope.type):
            started = time.perf_counter()
            await retry_transient(functools.partial(handle, envelope))
            took = time.perf_counter() - started
            metrics.EVENT_HANDLING_SECONDS.labels(consumer, envelope.type).observe(took)
            metrics.EVENTS_PROCESSED.labels(consumer, topic, envelope.type).inc()
            log.info("handled %s from %s in %.1f ms", envelope.type, topic, took * 1000)

    async def agent(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            topic, kind = topics.base(message.topic), "undecodable"
            try:
                envelope = decode(message.value, topic=topic)
                kind = envelope.type
                await apply(envelope, topic)
            except Exception as error:  # noqa: BLE001 - anything not transient is this record's fault
                # Invalid records (DecodeError, PermanentError) and failures no retry can
                # cure (the database refusing a document, a bug) go to the DLQ with their
                # error, so the partition keeps moving and the record waits for a redrive.
                log.warning(
                    "dead-lettering %s[%s]@%s: %r",
                    message.topic,
                    message.partition,
                    message.offset,
                    error,
                )
                record = FailedRecord(
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    key=message.key,
                    value=message.value,
                    headers=list(message.headers or []),
                )
                await retry_transient(functools.partial(dead_letters.send, record, error))
                metrics.EVENTS_FAILED.labels(consumer, topic, kind, type(error).__name__).inc()

    agent.__name__ = "consume_" + "_".join(base.replace(".", "_") for base in base_topics)
    app.agent(topic, name=f"{app.conf.id}.{agent.__name__}", concurrency=1)(agent)
