"""The faust worker: one agent over the user topics, the expiry and renewal sweeps, the
weekly cleanup (in a rebuild, the agent alone: see
:mod:`services.subscription.handlers.incoming`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import faust

from keyland.kafka.faust_app import close_on_shutdown, consuming_app, run_worker
from services.subscription.bootstrap import INPUT_TOPICS, Container
from services.subscription.config import SubscriptionSettings
from services.subscription.handlers.cleanup import request_purges

log = logging.getLogger(__name__)


def sweeping(
    sweep: Callable[[datetime], Awaitable[int]], done: str, settings: SubscriptionSettings
) -> Callable[[], Awaitable[None]]:
    """A task that sweeps every ``sweep_interval_s``, or less often when a sweep is slow
    (a first sweep looks back a month), so the database spends at most a fifth of its
    time on it; ``done`` logs how many the sweep acted on."""

    async def run() -> None:
        while True:
            started = time.monotonic()
            try:
                count = await sweep(datetime.now(UTC))
            except Exception:  # the database or Kafka away: the next sweep catches up
                log.exception("sweep failed; retrying")
            else:
                if count:
                    log.info(done, count)
            took = time.monotonic() - started
            await asyncio.sleep(max(settings.sweep_interval_s, 4 * took))

    return run


def build_app(container: Container) -> faust.App:
    settings = container.settings
    app = consuming_app(container, INPUT_TOPICS)

    async def prepare() -> None:
        await container.prepare_database()
        filed = await container.sweeper.backfill(datetime.now(UTC))
        if filed:
            log.info("filed the lapses of %d users stored before lapses were filed", filed)
        filed = await container.cleanup.backfill(datetime.now(UTC))
        if filed:
            log.info("filed when %d users become cleanup candidates", filed)

    async def cleanup_when_due() -> None:
        """On each tick: the weekly cleanup, if it is due and no other worker runs it."""
        try:
            now, age = datetime.now(UTC), timedelta(days=settings.cleanup_after_days)
            if await container.cleanup_timer.claim(now) is None:
                return
            found = await container.cleanup.find(now)
            requested = await request_purges(container.publisher, found.candidates, now, age)
            await container.cleanup.settle(found)
            await container.cleanup_timer.finish(datetime.now(UTC))
        except Exception:  # the database or Kafka away: retried when the claim's lease ends
            log.exception("cleanup failed; retried once its claim's lease ends")
        else:
            log.info("cleanup asked to purge %d inactive users", requested)

    close_on_shutdown(app, container.publisher.close)
    if container.payments_api is not None:
        close_on_shutdown(app, container.payments_api.close)
    app.task(prepare)
    if settings.rebuild:
        # Lapses and purges are announced on live topics: the original announcements are
        # on them already (the rebuild reads them), the next run in normal mode does the rest.
        log.info("rebuild: publishing nothing; no expiry sweep, no cleanup")
        return app
    app.task(sweeping(container.sweeper.sweep, "announced %d expired subscriptions", settings))
    app.task(sweeping(container.renewals.sweep, "found %d renewal charges due", settings))
    app.timer(interval=settings.cleanup_tick_s)(cleanup_when_due)
    return app


def run(container: Container) -> None:
    run_worker(build_app(container), container.kafka, INPUT_TOPICS)
