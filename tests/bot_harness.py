"""Running the bot in the test's event loop, and a stand-in for the provisioner's links API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from keyland.settings import KafkaSettings, MongoSettings
from services.bot.bootstrap import Container, bootstrap
from services.bot.config import BotSettings
from services.bot.entrypoints.polling import run_polling
from tests.notifier_harness import BOT_TOKEN


class PollingBot:
    """The real bot (bootstrap + long polling), as a task of the running loop."""

    def __init__(self, settings: BotSettings, kafka: KafkaSettings, mongo: MongoSettings) -> None:
        self._config = (settings, kafka, mongo)
        self._task: asyncio.Task[None] | None = None
        self.container: Container | None = None

    async def start(self) -> None:
        container = bootstrap(*self._config)
        polling = asyncio.Event()

        async def started() -> None:
            polling.set()

        container.dispatcher.startup.register(started)
        self._task = asyncio.create_task(run_polling(container, handle_signals=False))
        await asyncio.wait_for(polling.wait(), 15)
        self.container = container

    async def stop(self) -> None:
        if self.container is not None and self._task is not None:
            await self.container.dispatcher.stop_polling()
            await asyncio.wait_for(self._task, 30)
        self.container, self._task = None, None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@contextlib.asynccontextmanager
async def admin_bot(
    telegram_api_url: str,
    admin: int,
    read_api: tuple[str, str],
    kafka: KafkaSettings,
    mongo: MongoSettings,
    **settings: Any,
) -> AsyncIterator[PollingBot]:
    """The real bot (the test emulator's ``BOT_TOKEN``) polling ``telegram_api_url``, with
    ``admin`` as its admin and ``read_api`` (URL, token) as its read API; ``settings`` set
    the rest (by default the payments and links APIs are never asked)."""
    defaults: dict[str, Any] = {
        "payments_token": SecretStr("unused-payments-token"),
        "links_token": SecretStr("unused-links-token"),
        "http_timeout_s": 10,
    }
    bot_settings = BotSettings(
        token=SecretStr(BOT_TOKEN),
        telegram_api_url=telegram_api_url,
        admin_ids=[admin],
        read_api_url=read_api[0],
        read_api_token=SecretStr(read_api[1]),
        **{**defaults, **settings},
    )
    running = PollingBot(bot_settings, kafka, mongo)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def links_app(token: str, links: Mapping[int, dict[str, Any] | None]) -> Starlette:
    """The provisioner's links contract: ``GET /v1/users/{id}/links`` with a bearer token;
    404 for a user without keys; 503 for a user whose links are ``None`` (the API failing)."""

    async def user_links(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        telegram_id = request.path_params["telegram_id"]
        if telegram_id not in links:
            return JSONResponse({"error": f"no keys for {telegram_id}"}, status_code=404)
        found = links[telegram_id]
        if found is None:
            return JSONResponse({"error": "unavailable"}, status_code=503)
        return JSONResponse(found)

    return Starlette(routes=[Route("/v1/users/{telegram_id:int}/links", user_links)])
