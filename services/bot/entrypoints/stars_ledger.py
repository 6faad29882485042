"""Reading Stars payments back from Telegram at start and every
``KEYLAND_BOT_STARS_RECONCILE_EVERY_MIN``, in either mode (see
:func:`services.bot.routers.stars.reconcile`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from services.bot.bootstrap import Container
from services.bot.routers.stars import reconcile

log = logging.getLogger(__name__)


async def reconcile_now(
    container: Container, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> int:
    """One reading over the configured lookback; how many payments it published."""
    settings = container.settings
    since = clock() - timedelta(days=settings.stars_lookback_days)
    return await reconcile(
        container.ledger, container.events, settings.plans, container.published, since
    )


async def _every_interval(container: Container) -> None:
    interval_s = container.settings.stars_reconcile_every_min * 60
    while True:
        try:
            published = await reconcile_now(container)
            log.info("Stars reconciliation: %d payments published", published)
        except Exception:  # Telegram unreachable, say: the next round tries again
            log.exception("Stars reconciliation failed")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def reconciling(container: Container) -> AsyncIterator[None]:
    """Reconcile in the background while the body runs, starting now."""
    task = asyncio.create_task(_every_interval(container))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
