"""Long polling: the bot asks Telegram for updates (no public address needed)."""

from __future__ import annotations

import logging

from services.bot.bootstrap import Container
from services.bot.entrypoints.operations import operations
from services.bot.entrypoints.stars_ledger import reconciling

log = logging.getLogger(__name__)


async def run_polling(container: Container, *, handle_signals: bool = True) -> None:
    """Poll until stopped (SIGINT/SIGTERM, or ``dispatcher.stop_polling()``), then close
    every client."""
    bot, dispatcher = container.bot, container.dispatcher
    try:
        async with operations(container):
            await container.events.connect()
            # A webhook left from webhook mode would make getUpdates fail.
            await bot.delete_webhook(drop_pending_updates=False)
            async with reconciling(container):
                await dispatcher.start_polling(
                    bot,
                    allowed_updates=dispatcher.resolve_used_update_types(),
                    handle_signals=handle_signals,
                    close_bot_session=False,
                )
    finally:
        await container.close()
