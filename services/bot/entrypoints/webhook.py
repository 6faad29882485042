"""Webhook: Telegram posts updates to ``KEYLAND_BOT_WEBHOOK_URL``, served here by
aiogram's aiohttp handler at ``KEYLAND_BOT_WEBHOOK_PATH``.

Only requests carrying the configured secret in ``X-Telegram-Bot-Api-Secret-Token``
are accepted (401 otherwise). An update is answered once handled, so one interrupted by
a shutdown is redelivered by Telegram. ``GET /health`` answers 200 for supervisors.

Telegram answers 409 to a second long-polling ``getUpdates``, so several bot instances
run in this mode, behind the one webhook URL: on one host on the same port, across
hosts behind a proxy. Conversations survive a change of instance (the FSM state is in
the database).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from keyland.shared_port import shared_listener
from services.bot.bootstrap import Container
from services.bot.entrypoints.operations import operations
from services.bot.entrypoints.stars_ledger import reconciling


def build_webhook_app(container: Container) -> web.Application:
    settings, bot, dispatcher = container.settings, container.bot, container.dispatcher
    assert settings.webhook_url is not None, "validated in webhook mode"
    assert settings.webhook_secret is not None, "validated in webhook mode"
    secret = settings.webhook_secret.get_secret_value()
    webhook_url = settings.webhook_url

    async def register_webhook(_: web.Application) -> None:
        await container.events.connect()
        await bot.set_webhook(
            webhook_url,
            secret_token=secret,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )

    async def close_clients(_: web.Application) -> None:
        await container.close()

    async def serve_operations(_: web.Application) -> AsyncIterator[None]:
        async with operations(container), reconciling(container):
            yield

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token=secret).register(
        app, path=settings.webhook_path
    )
    app.router.add_get("/health", health)
    setup_application(app, dispatcher, bot=bot)
    app.on_startup.append(register_webhook)
    app.on_cleanup.append(close_clients)
    app.cleanup_ctx.append(serve_operations)
    return app


def run_webhook(container: Container) -> None:
    """Serve until SIGINT/SIGTERM."""
    settings = container.settings
    # Several instances may serve the same port (see keyland.shared_port); each sets the
    # same webhook, which Telegram keeps as one.
    web.run_app(
        build_webhook_app(container),
        sock=shared_listener(settings.webhook_host, settings.webhook_port),
        print=None,
        access_log=None,
    )
