"""The v3 routes the SDK calls: HTTP Basic auth, idempotence keys, YooKassa's errors.

Every answer is HTTP 200 with the object, as the SDK treats any other success code as an
error; failures are YooKassa error objects with its HTTP codes (400, 401, 404).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from emulators.yookassa import parsing
from emulators.yookassa.idempotency import KEY_HEADER, checked_key, request_fingerprint
from emulators.yookassa.provider import Provider
from emulators.yookassa.state import ApiProblem

Operation = Callable[[dict[str, Any]], dict[str, Any]]


class Credentials:
    """The shop's id and secret key, checked in constant time."""

    def __init__(self, shop_id: str, secret_key: str) -> None:
        self._expected = f"{shop_id}:{secret_key}".encode()

    def check(self, request: Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            given = base64.b64decode(token, validate=True) if scheme.lower() == "basic" else b""
        except ValueError:  # not base64, or not even ASCII
            given = b""
        if not given or not secrets.compare_digest(given, self._expected):
            raise ApiProblem(
                401,
                "invalid_credentials",
                "Login (shop id) or password (secret key) in Authorization header is incorrect",
                "Authorization",
            )


def api_routes(provider: Provider, credentials: Credentials) -> list[BaseRoute]:
    async def idempotent(request: Request, operation: Operation) -> JSONResponse:
        credentials.check(request)
        key = checked_key(request.headers.get(KEY_HEADER))
        body = parsing.json_object(await request.body())
        fingerprint = request_fingerprint(request.method, request.url.path, body)
        answer = provider.keys.recall(key, fingerprint, provider.clock())
        if answer is None:
            answer = operation(body)
            provider.keys.remember(key, fingerprint, answer, provider.clock())
        return JSONResponse(answer)

    async def create_payment(request: Request) -> JSONResponse:
        return await idempotent(
            request, lambda body: provider.create_payment(parsing.new_payment(body))
        )

    async def get_payment(request: Request) -> JSONResponse:
        credentials.check(request)
        return JSONResponse(provider.payment(request.path_params["payment_id"]))

    async def capture_payment(request: Request) -> JSONResponse:
        payment_id = request.path_params["payment_id"]
        return await idempotent(
            request,
            lambda body: provider.capture(payment_id, parsing.capture_amount(body)).subject,
        )

    async def cancel_payment(request: Request) -> JSONResponse:
        payment_id = request.path_params["payment_id"]
        return await idempotent(request, lambda _: provider.cancel(payment_id).subject)

    async def create_refund(request: Request) -> JSONResponse:
        def refund(body: dict[str, Any]) -> dict[str, Any]:
            payment_id, amount, description, metadata = parsing.refund_request(body)
            return provider.refund_payment(payment_id, amount, description, metadata).subject

        return await idempotent(request, refund)

    async def get_refund(request: Request) -> JSONResponse:
        credentials.check(request)
        return JSONResponse(provider.refund(request.path_params["refund_id"]))

    return [
        Mount(
            "/v3",
            routes=[
                Route("/payments", create_payment, methods=["POST"]),
                Route("/payments/{payment_id}", get_payment, methods=["GET"]),
                Route("/payments/{payment_id}/capture", capture_payment, methods=["POST"]),
                Route("/payments/{payment_id}/cancel", cancel_payment, methods=["POST"]),
                Route("/refunds", create_refund, methods=["POST"]),
                Route("/refunds/{refund_id}", get_refund, methods=["GET"]),
            ],
        )
    ]
