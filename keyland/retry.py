"""Retrying transient failures: a dependency that is down is waited for, never skipped.

Validation failures are not retried (they go to the DLQ); transport failures (Kafka or
the database unreachable) are retried with capped exponential backoff, so a partition
pauses until the dependency returns instead of losing or reordering work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import psycopg
from pymongo.errors import AutoReconnect, ConnectionFailure, ExecutionTimeout
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_delay,
    stop_never,
    wait_exponential,
)

from keyland.kafka.producer import PublishFailed

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    PublishFailed,
    AutoReconnect,
    ConnectionFailure,
    ExecutionTimeout,
    psycopg.OperationalError,  # the PostgreSQL under FerretDB (index creation at start)
    ConnectionError,
    TimeoutError,
)

T = TypeVar("T")


async def retry_transient(
    operation: Callable[[], Awaitable[T]], *, give_up_after_s: float | None = None
) -> T:
    """Run ``operation`` until it succeeds or fails with a non-transient error."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT_ERRORS),
        wait=wait_exponential(multiplier=0.1, max=5.0),
        stop=stop_never if give_up_after_s is None else stop_after_delay(give_up_after_s),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await operation()
    raise AssertionError("unreachable: tenacity either returns or raises")
