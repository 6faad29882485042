"""``POST /webhooks/yookassa`` (YooKassa's notifications), ``POST /payments``,
``POST /payments/renewals`` and ``POST /payments/{id}/refund`` (internal: a new order,
optionally saving the payer's method; a renewal charge of a saved method; an admin
refunding a held payment).

Webhook answers: 200 once the event is acknowledged by Kafka (or the notification needs
nothing from us); 403 from an untrusted source; 415 for a body not sent as
``application/json``; 413 for a body over the limit (refused as soon as it passes it);
400 for a malformed body (numbers beyond any sane size included) or a notification the
API does not confirm; 409 when the API says the object may still change (YooKassa
redelivers); 503 when the API or Kafka is unavailable (YooKassa redelivers); 500 (logged)
for a fault of ours. Every answer is counted in ``keyland_webhooks_total``. Nothing is
published on any answer but 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from keyland.http import (
    DEFAULT_MAX_BODY,
    BearerTokenMiddleware,
    BodyLimitMiddleware,
    BodyTooLarge,
    NotJson,
    parse_json,
)
from keyland.observability.ops_server import Check, ops_routes
from services.payments_ingest.adapters import metrics
from services.payments_ingest.domain.notifications import Renewal
from services.payments_ingest.domain.outcomes import Problem, Refused
from services.payments_ingest.domain.trust import client_address, is_trusted
from services.payments_ingest.handlers import IngestHandlers

log = logging.getLogger(__name__)

# A refusal's answer: YooKassa redelivers a notification answered 409 or 503, never one
# answered 400; the internal callers get 422 for a request they should not repeat.
STATUS = {
    Problem.MALFORMED: 400,
    Problem.INVALID: 422,
    Problem.UNCONFIRMED: 400,
    Problem.CONFLICT: 409,
    Problem.UNAVAILABLE: 503,
}


def _answer(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": message, **extra}, status_code=status)


def _refused(refusal: Refused) -> JSONResponse:
    return _answer(STATUS[refusal.problem], refusal.message)


class NewPayment(BaseModel):
    telegram_id: int = Field(gt=0)
    plan: str = Field(min_length=1, max_length=64)
    order_id: str = Field(min_length=1, max_length=128, description="Caller's id of the order.")
    gift: bool = Field(default=False, description="Bought as a gift for someone else.")
    save_payment_method: bool = Field(
        default=False, description="Save the payer's method to renew the plan automatically."
    )


class NewRenewal(BaseModel):
    telegram_id: int = Field(gt=0)
    plan: str = Field(min_length=1, max_length=64)
    method_id: str = Field(min_length=1, max_length=64)
    period_end: AwareDatetime
    attempt: int = Field(ge=0, le=1000)


def _invalid(error: ValidationError) -> JSONResponse:
    return _answer(
        422,
        "invalid order",
        # No input: for a body that is not JSON it is bytes, which JSON cannot carry.
        errors=error.errors(include_url=False, include_context=False, include_input=False),
    )


def _is_json(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == "application/json"


def _report_preparation(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("creating the orders collection and its indexes failed", exc_info=error)


def build_app(
    handlers: IngestHandlers,
    internal_token: str,
    checks: Mapping[str, Check],
    max_body: int = DEFAULT_MAX_BODY,
    prepare: Callable[[], Awaitable[None]] | None = None,
) -> Starlette:
    """The ASGI app; ``internal_token`` guards everything but the webhook and health
    (``/metrics`` too: this port faces the internet). Bodies over ``max_body`` bytes are
    refused with 413 as they arrive. ``prepare`` (the collection and its indexes) runs
    beside the server from start: a database still down delays it, not the health
    answers, and a webhook meanwhile gets 503 from the order lookup as it would anyway."""

    async def webhook(request: Request) -> Response:
        try:
            answer = await answer_webhook(request)
        except Exception:
            # Counted like any answer, so the failing-webhooks alert sees it.
            log.exception("webhook failed")
            answer = _answer(500, "internal error; retry later")
        metrics.WEBHOOKS.labels(str(answer.status_code)).inc()
        return answer

    async def answer_webhook(request: Request) -> Response:
        peer = request.client.host if request.client else None
        source = client_address(
            peer, request.headers.get("x-forwarded-for"), handlers.trusted_proxies
        )
        if not is_trusted(source, handlers.trusted_networks):
            log.warning("webhook from untrusted source %s refused", source)
            return _answer(403, "untrusted source")
        if not _is_json(request.headers.get("content-type", "")):
            return _answer(415, "send the notification as application/json")
        try:
            body = parse_json(await request.body())
        except BodyTooLarge:
            return _answer(413, "body too large")
        except NotJson as error:
            return _answer(400, str(error))
        outcome = await handlers.notification(body)
        if isinstance(outcome, Refused):
            return _refused(outcome)
        return _answer(200, outcome.what)

    async def create_payment(request: Request) -> Response:
        try:
            order = NewPayment.model_validate_json(await request.body())
        except ValidationError as error:
            return _invalid(error)
        created = await handlers.create_payment(
            order.telegram_id,
            order.plan,
            order.order_id,
            save_method=order.save_payment_method,
            gift=order.gift,
        )
        if isinstance(created, Refused):
            return _refused(created)
        return JSONResponse(asdict(created), status_code=201)

    async def renew(request: Request) -> Response:
        try:
            asked = NewRenewal.model_validate_json(await request.body())
        except ValidationError as error:
            return _invalid(error)
        renewal = Renewal(asked.period_end, asked.attempt, asked.method_id)
        created = await handlers.renew(asked.telegram_id, asked.plan, renewal)
        if isinstance(created, Refused):
            return _refused(created)
        return JSONResponse(asdict(created), status_code=201)

    async def refund_held(request: Request) -> Response:
        refund = await handlers.refund_held(request.path_params["payment_id"])
        if isinstance(refund, Refused):
            return _refused(refund)
        return JSONResponse(asdict(refund), status_code=201)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        preparing = asyncio.ensure_future(prepare()) if prepare is not None else None
        if preparing is not None:
            preparing.add_done_callback(_report_preparation)
        yield
        if preparing is not None:
            preparing.cancel()
            await asyncio.gather(preparing, return_exceptions=True)
        await handlers.publisher.close()
        handlers.api.close()

    return Starlette(
        lifespan=lifespan,
        middleware=[
            Middleware(BodyLimitMiddleware, max_bytes=max_body),
            Middleware(
                BearerTokenMiddleware,
                token=internal_token,
                public=("/health", "/webhooks/yookassa"),
            ),
        ],
        routes=[
            Route("/webhooks/yookassa", webhook, methods=["POST"]),
            Route("/payments", create_payment, methods=["POST"]),
            Route("/payments/renewals", renew, methods=["POST"]),
            Route("/payments/{payment_id}/refund", refund_held, methods=["POST"]),
            *ops_routes(checks),
        ],
    )
