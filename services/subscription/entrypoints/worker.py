"""The faust worker: one agent over the user topics, the expiry sweep, the weekly cleanup
(in a rebuild, the agent alone: see :mod:`services.subscription.handlers.incoming`)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import faust

from keyland.kafka.faust_app import close_on_shutdown, consuming_app, run_worker
from services.subscription.bootstrap import INPUT_TOPICS, Container
from services.subscription.handlers.cleanup import request_purges

log = logging.getLogger(__name__)


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

    async def sweep_expired() -> None:
        """Sweep every ``sweep_interval_s``, or less often when a sweep is slow (a first
        sweep looks back a month), so the database spends at most a fifth of its time
        on it."""
        while True:
            started = time.monotonic()
            try:
                announced = await container.sweeper.sweep(datetime.now(UTC))
            except Exception:  # the database away: the next sweep catches up
                log.exception("expiry sweep failed; retrying")
            else:
                if announced:
                    log.info("announced %d expired subscriptions", announced)
            took = time.monotonic() - started
            await asyncio.sleep(max(settings.sweep_interval_s, 4 * took))

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
    app.task(prepare)
    if settings.rebuild:
        # Lapses and purges are announced on live topics: the original announcements are
        # on them already (the rebuild reads them), the next run in normal mode does the rest.
        log.info("rebuild: publishing nothing; no expiry sweep, no cleanup")
        return app
    app.task(sweep_expired)
    app.timer(interval=settings.cleanup_tick_s)(cleanup_when_due)
    return app


def run(container: Container) -> None:
    run_worker(build_app(container), container.kafka, INPUT_TOPICS)
