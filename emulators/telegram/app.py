"""The emulator as one Starlette app: the Bot API, the control routes, webhook delivery."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulators.telegram.api import api_routes
from emulators.telegram.control import control_routes
from emulators.telegram.delivery import WebhookPolicy
from emulators.telegram.emulator import Emulator
from emulators.telegram.errors import ControlError
from emulators.telegram.limits import RateLimits
from emulators.telegram.observe import observe_routes
from emulators.telegram.state import BotAccount


@dataclass(frozen=True)
class EmulatorConfig:
    """The bots the emulator serves; flood limits as they are after start-up and reset."""

    bots: tuple[BotAccount, ...]
    rate_limits: RateLimits = field(default_factory=RateLimits)
    webhook: WebhookPolicy = field(default_factory=WebhookPolicy)

    def __post_init__(self) -> None:
        if not self.bots:
            raise ValueError("at least one bot token is needed")
        ids = [bot.id for bot in self.bots]
        if len(set(ids)) != len(ids):
            raise ValueError("two tokens name the same bot id")
        names = [bot.username.lower() for bot in self.bots]
        if len(set(names)) != len(names):
            raise ValueError("two bots have the same username")


async def control_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, ControlError)
    return JSONResponse({"error": error.message}, status_code=error.status)


async def http_error(_: Request, error: Exception) -> Response:
    """Unknown routes answer as the Bot API does."""
    assert isinstance(error, HTTPException)
    return JSONResponse(
        {"ok": False, "error_code": error.status_code, "description": str(error.detail)},
        status_code=error.status_code,
    )


def build_app(config: EmulatorConfig, *, clock: Callable[[], float] = time.time) -> Starlette:
    """The ASGI app. State lives in memory for the app's lifetime."""
    emulator = Emulator(config.bots, clock, config.rate_limits, config.webhook)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            emulator.webhooks.start(client)
            try:
                yield
            finally:
                await emulator.webhooks.close()

    app = Starlette(
        routes=[*api_routes(emulator), *control_routes(emulator), *observe_routes(emulator)],
        exception_handlers={ControlError: control_error, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    return app
