"""The admin API: writes on the read API's port, under ``/v1/admin``, with their own token
(``KEYLAND_SUBSCRIPTION_ADMIN_TOKEN``; unset, every admin path answers 404 saying so).

Each write publishes the admin command the bot's admin menu would (see
:mod:`services.subscription.handlers.admin_orders`) and answers ``202 Accepted`` with its
event id: the subscription processor applies it soon after, and the user's view
(``GET /v1/users/{id}``) shows the effect. Every write names the acting admin
(``X-Admin-Id``, their Telegram id: told when the processor refuses the change) and may
carry an ``Idempotency-Key``. ``GET /v1/admin/openapi.json`` describes it all.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from events import Event
from events.admin_commands import (
    MAX_ADJUSTMENT_DAYS,
    MAX_ADJUSTMENT_MONTHS,
    SubscriptionAdjusted,
    UserBlockRequested,
    UserProvisioned,
    UserPurgeRequested,
)
from events.base import MAX_TELEGRAM_ID, TelegramId
from keyland.http import BearerTokenMiddleware, BodyTooLarge, NotJson, parse_json
from keyland.kafka.producer import PublishFailed
from services.subscription.entrypoints.admin_openapi import openapi_document
from services.subscription.handlers.admin_orders import AdminOrders

PREFIX = "/v1/admin"
TOKEN_SETTING = "KEYLAND_SUBSCRIPTION_ADMIN_TOKEN"  # noqa: S105 - its name, not a value
M = TypeVar("M", bound=BaseModel)
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class BadRequest(Exception):
    """A request the API refuses: its status and why."""

    def __init__(self, status: int, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


class TimeChange(BaseModel):
    """Months and days to add to the user's access (negative: to take away)."""

    model_config = ConfigDict(extra="forbid")

    months: int = Field(default=0, ge=-MAX_ADJUSTMENT_MONTHS, le=MAX_ADJUSTMENT_MONTHS)
    days: int = Field(default=0, ge=-MAX_ADJUSTMENT_DAYS, le=MAX_ADJUSTMENT_DAYS)
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_direction(self) -> TimeChange:
        if self.months * self.days < 0:
            raise ValueError("months and days must have the same sign")
        return self


class NewAccount(BaseModel):
    """A user's account made ready before their first /start, with time granted from it."""

    model_config = ConfigDict(extra="forbid")

    telegram_id: TelegramId = Field(gt=0, le=MAX_TELEGRAM_ID)
    months: int = Field(default=0, ge=0, le=MAX_ADJUSTMENT_MONTHS)
    days: int = Field(default=0, ge=0, le=MAX_ADJUSTMENT_DAYS)
    note: str | None = Field(default=None, max_length=500)


def _error(status: int, message: str, errors: list[Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def _id(raw: str) -> int | None:
    """A Telegram id written in ``raw``, or None."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 16:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_TELEGRAM_ID else None


def _telegram_id(request: Request) -> int:
    telegram_id = _id(request.path_params["telegram_id"])
    if telegram_id is None:
        raise BadRequest(422, "telegram_id must be a Telegram id (a positive integer)")
    return telegram_id


def _admin_id(request: Request) -> int:
    admin_id = _id(request.headers.get("x-admin-id", ""))
    if admin_id is None:
        raise BadRequest(422, "X-Admin-Id must be the acting admin's Telegram id")
    return admin_id


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise BadRequest(400, "Idempotency-Key must be 1 to 255 visible ASCII characters")
    return key


async def _body(request: Request, model: type[M]) -> M:
    try:
        document = parse_json(await request.body())
    except BodyTooLarge as error:
        raise BadRequest(413, "body too large") from error
    except NotJson as error:
        raise BadRequest(400, str(error)) from error
    return _valid(model, document)


def _valid(model: type[M], document: Any) -> M:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise BadRequest(422, "invalid request", _errors(error)) from error


def _errors(error: ValidationError) -> list[Any]:
    return error.errors(include_url=False, include_context=False, include_input=False)


Command = Callable[[Request, int], Awaitable[Event]]
"""Builds an order's command from the request and the acting admin's id."""


def _order(orders: AdminOrders, command: Command) -> Callable[[Request], Awaitable[Response]]:
    """A write route: check the request, build its command, publish it, answer 202."""

    async def route(request: Request) -> Response:
        try:
            admin_id, key = _admin_id(request), _idempotency_key(request)
            event = await command(request, admin_id)
        except BadRequest as refused:
            return _error(refused.status, refused.message, refused.errors)
        except ValidationError as error:  # the command's own rules
            return _error(422, "invalid request", _errors(error))
        telegram_id = int(event.partition_key())
        try:
            event_id = await orders.place(event, telegram_id, key, datetime.now(UTC))
        except PublishFailed:
            return _error(503, "the order could not be queued; retry with the same key")
        return JSONResponse(
            {"event_id": str(event_id), "type": event.event_type, "telegram_id": telegram_id},
            status_code=202,
        )

    return route


async def _create(request: Request, admin_id: int) -> Event:
    account = await _body(request, NewAccount)
    return UserProvisioned(admin_id=admin_id, **account.model_dump())


async def _change_time(request: Request, admin_id: int) -> Event:
    telegram_id, change = _telegram_id(request), await _body(request, TimeChange)
    return SubscriptionAdjusted(telegram_id=telegram_id, admin_id=admin_id, **change.model_dump())


async def _delete(request: Request, admin_id: int) -> Event:
    telegram_id = _telegram_id(request)
    return UserPurgeRequested(telegram_id=telegram_id, admin_id=admin_id, reason="admin")


async def _block(request: Request, admin_id: int) -> Event:
    telegram_id = _telegram_id(request)
    return UserBlockRequested(telegram_id=telegram_id, blocked=True, admin_id=admin_id)


async def _unblock(request: Request, admin_id: int) -> Event:
    telegram_id = _telegram_id(request)
    return UserBlockRequested(telegram_id=telegram_id, blocked=False, admin_id=admin_id)


def admin_routes(orders: AdminOrders) -> list[BaseRoute]:
    """The admin API's routes, below :data:`PREFIX`."""
    routes: list[BaseRoute] = [
        Route("/users", _order(orders, _create), methods=["POST"]),
        Route("/users/{telegram_id}/time", _order(orders, _change_time), methods=["POST"]),
        Route("/users/{telegram_id}", _order(orders, _delete), methods=["DELETE"]),
        Route("/users/{telegram_id}/block", _order(orders, _block), methods=["PUT"]),
        Route("/users/{telegram_id}/block", _order(orders, _unblock), methods=["DELETE"]),
    ]
    document = openapi_document(PREFIX, {"NewAccount": NewAccount, "TimeChange": TimeChange})

    async def openapi(_: Request) -> Response:
        return JSONResponse(document)

    return [*routes, Route("/openapi.json", openapi, methods=["GET"])]


def admin_app(orders: AdminOrders | None, token: str | None) -> Starlette:
    """The app mounted at :data:`PREFIX`: the admin routes behind ``token``, or, with no
    token or no publisher, one answer for every path: the admin API is off."""
    if orders is None or not token:

        async def off(_: Request) -> Response:
            return _error(404, f"the admin API is off: {TOKEN_SETTING} is not set")

        return Starlette(routes=[Route("/{path:path}", off, methods=_METHODS)])
    return Starlette(
        middleware=[Middleware(BearerTokenMiddleware, token=token, public=())],
        routes=admin_routes(orders),
    )


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
