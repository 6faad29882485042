"""``POST /webhooks/yookassa`` (YooKassa's notifications), ``POST /payments`` and
``POST /payments/{id}/refund`` (internal: a new order; an admin refunding a held payment).

Webhook answers: 200 once the event is acknowledged by Kafka (or the notification needs
nothing from us); 403 from an untrusted source; 400 for a malformed body or a
notification the API does not confirm; 409 when the API says the object may still change
(YooKassa redelivers); 503 when the API or Kafka is unavailable (YooKassa redelivers).
Nothing is published on any answer but 200.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from keyland.http import BearerTokenMiddleware
from keyland.observability import metrics
from keyland.observability.ops_server import Check, ops_routes
from services.payments_ingest.domain.trust import client_address, is_trusted
from services.payments_ingest.handlers import IngestHandlers, Rejected

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


def _answer(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"status": message, **extra}, status_code=status)


class NewPayment(BaseModel):
    telegram_id: int = Field(gt=0)
    plan: str = Field(min_length=1, max_length=64)
    order_id: str = Field(min_length=1, max_length=128, description="Caller's id of the order.")


def build_app(
    handlers: IngestHandlers, internal_token: str, checks: Mapping[str, Check]
) -> Starlette:
    """The ASGI app; ``internal_token`` guards everything but the webhook and health
    (``/metrics`` too: this port faces the internet)."""

    async def webhook(request: Request) -> Response:
        answer = await answer_webhook(request)
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
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return _answer(413, "body too large")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            # RecursionError: nesting too deep for the parser ("[[[[..." within MAX_BODY)
            return _answer(400, "body is not JSON")
        try:
            outcome = await handlers.notification(body)
        except Rejected as rejection:
            return _answer(rejection.status, rejection.message)
        return _answer(200, outcome)

    async def create_payment(request: Request) -> Response:
        try:
            order = NewPayment.model_validate_json(await request.body())
        except ValidationError as error:
            return _answer(
                422,
                "invalid order",
                # No input: for a body that is not JSON it is bytes, which JSON cannot carry.
                errors=error.errors(include_url=False, include_context=False, include_input=False),
            )
        try:
            created = await handlers.create_payment(order.telegram_id, order.plan, order.order_id)
        except Rejected as rejection:
            return _answer(rejection.status, rejection.message)
        return JSONResponse(created, status_code=201)

    async def refund_held(request: Request) -> Response:
        try:
            refund = await handlers.refund_held(request.path_params["payment_id"])
        except Rejected as rejection:
            return _answer(rejection.status, rejection.message)
        return JSONResponse(refund, status_code=201)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await handlers.publisher.close()

    return Starlette(
        lifespan=lifespan,
        middleware=[
            Middleware(
                BearerTokenMiddleware,
                token=internal_token,
                public=("/health", "/webhooks/yookassa"),
            )
        ],
        routes=[
            Route("/webhooks/yookassa", webhook, methods=["POST"]),
            Route("/payments", create_payment, methods=["POST"]),
            Route("/payments/{payment_id}/refund", refund_held, methods=["POST"]),
            *ops_routes(checks),
        ],
    )
