"""The emulator as one Starlette app: v3 API, control routes, checkout page, deliveries."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from emulators.yookassa import wire
from emulators.yookassa.api import Credentials, api_routes
from emulators.yookassa.checkout import checkout_routes
from emulators.yookassa.control import control_routes
from emulators.yookassa.delivery import (
    Clock,
    Deliverer,
    DeliveryPolicy,
    checked_webhook_url,
)
from emulators.yookassa.provider import Provider
from emulators.yookassa.state import ApiProblem


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class EmulatorConfig:
    """One emulated shop.

    ``public_url`` is where payers reach the emulator (``confirmation_url`` points at its
    ``/checkout/{id}``); ``webhook_url`` receives notifications and may be changed at
    runtime through ``PUT /emulator/webhook``.
    """

    shop_id: str
    secret_key: str
    public_url: str
    webhook_url: str | None = None
    gateway_id: str = "1000001"
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)

    def __post_init__(self) -> None:
        if not self.shop_id or ":" in self.shop_id:
            raise ValueError("shop id must be non-empty and without ':' (HTTP Basic user)")
        if not self.secret_key:
            raise ValueError("secret key must be non-empty")
        if self.webhook_url is not None:
            checked_webhook_url(self.webhook_url)


async def problem_answer(_: Request, error: Exception) -> Response:
    assert isinstance(error, ApiProblem)
    return JSONResponse(wire.error(error), status_code=error.status)


async def http_error_answer(_: Request, error: Exception) -> Response:
    """Unknown routes and wrong methods still answer with a YooKassa error object."""
    assert isinstance(error, HTTPException)
    code = "not_found" if error.status_code == 404 else "invalid_request"
    problem = ApiProblem(error.status_code, code, str(error.detail))
    return JSONResponse(wire.error(problem), status_code=error.status_code)


def build_app(config: EmulatorConfig, *, clock: Clock = utc_now) -> Starlette:
    """The ASGI app. State lives in memory for the app's lifetime; no I/O happens here."""
    shop = wire.Shop(config.shop_id, config.gateway_id, config.public_url.rstrip("/"))
    deliverer = Deliverer(config.delivery, config.webhook_url, clock)
    provider = Provider(shop, deliverer, clock)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            deliverer.start(client)
            try:
                yield
            finally:
                await deliverer.close()

    return Starlette(
        routes=[
            *api_routes(provider, Credentials(config.shop_id, config.secret_key)),
            *control_routes(provider),
            *checkout_routes(provider),
        ],
        exception_handlers={ApiProblem: problem_answer, HTTPException: http_error_answer},
        lifespan=lifespan,
    )
