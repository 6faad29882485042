"""The notifier's faust worker."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import faust

from keyland.kafka.faust_app import close_on_shutdown, consuming_app, run_worker
from services.notifier.bootstrap import INPUT_TOPICS, Container

log = logging.getLogger(__name__)


def build_app(container: Container) -> faust.App:
    settings = container.settings
    app = consuming_app(container, INPUT_TOPICS)

    async def send_due() -> None:
        await container.scheduler.run_once(datetime.now(UTC))

    async def load_due() -> None:
        while True:
            try:
                await container.scheduler.refresh(datetime.now(UTC))
            except Exception:  # a dead loader would stop every planned notice
                log.exception("loading due notices failed; retrying")
            await asyncio.sleep(container.scheduler.refresh_every.total_seconds())

    async def broadcasts() -> None:
        while True:  # one broadcast loop per process; a broadcast can take minutes
            try:
                await container.broadcaster.run_once()
            except Exception:  # a loop that dies silently would stop every broadcast
                log.exception("broadcast round failed; retrying")
            await asyncio.sleep(1)

    close_on_shutdown(app, container.publisher.close, container.sender.close)
    app.task(container.prepare_database)
    app.task(load_due)
    app.timer(interval=settings.scheduler_interval_s)(send_due)
    app.task(broadcasts)
    return app


def run(container: Container) -> None:
    run_worker(build_app(container), container.kafka, INPUT_TOPICS)
