"""The bot's ``/health`` and ``/metrics`` (on ``KEYLAND_BOT_OPS_PORT``), in either mode."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from keyland.observability.ops_server import OpsServer
from services.bot.bootstrap import Container


@contextlib.asynccontextmanager
async def operations(container: Container) -> AsyncIterator[None]:
    """Serve the bot's operations endpoints while the body runs (nothing without a port)."""
    settings = container.settings
    if settings.ops_port is None:
        yield
        return
    server = OpsServer(settings.ops_host, settings.ops_port, container.checks)
    serving = asyncio.create_task(server.serve())
    try:
        yield
    finally:
        server.stop()
        await serving
