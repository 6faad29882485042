"""Control routes under ``/emulator/``: the outside world, played by tests and the demo.

Not part of YooKassa and not authenticated. Routes that cause a notification take
``copies`` (deliver the same notification N times, default 1) and ``wait`` (answer only
once every copy is acknowledged or given up; by default they answer as soon as queued).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from emulators.yookassa import parsing
from emulators.yookassa.delivery import Delivery, checked_webhook_url
from emulators.yookassa.provider import Outcome, Provider
from emulators.yookassa.state import (
    CANCELLATION_PARTIES,
    CANCELLATION_REASONS,
    Cancellation,
    invalid_request,
)

MAX_COPIES = 100
MAX_DECLINES = 1000


def copies_of(request: Request) -> int:
    raw = request.query_params.get("copies", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_COPIES:
        raise invalid_request(f"copies must be a whole number from 1 to {MAX_COPIES}", "copies")
    return int(raw)


def waits(request: Request) -> bool:
    return request.query_params.get("wait", "false").lower() in {"1", "true", "yes"}


def choice(request: Request, name: str, allowed: Iterable[str], default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in allowed:
        raise invalid_request(f"{name} must be one of {', '.join(sorted(allowed))}", name)
    return value


def control_routes(provider: Provider) -> list[BaseRoute]:
    deliverer = provider.deliverer

    async def answer(request: Request, outcome: Outcome) -> JSONResponse:
        if waits(request):
            await deliverer.wait(outcome.deliveries)
        return JSONResponse(outcome.to_json())

    async def pay(request: Request) -> JSONResponse:
        """The payer pays: succeeded, or waiting_for_capture when created without capture."""
        outcome = provider.pay(request.path_params["payment_id"], copies_of(request))
        return await answer(request, outcome)

    async def cancel(request: Request) -> JSONResponse:
        """The payment fails or expires: ``reason`` and ``party`` as in cancellation_details."""
        payment_id = request.path_params["payment_id"]
        held = provider.ledger.payment(payment_id).status == "waiting_for_capture"
        default_reason = "expired_on_capture" if held else "expired_on_confirmation"
        cancellation = Cancellation(
            choice(request, "party", CANCELLATION_PARTIES, "yoo_money"),
            choice(request, "reason", CANCELLATION_REASONS, default_reason),
        )
        outcome = provider.cancel(
            payment_id, cancellation, by_merchant=False, copies=copies_of(request)
        )
        return await answer(request, outcome)

    async def refund(request: Request) -> JSONResponse:
        """A refund made outside the API (the shop's dashboard); ``amount`` defaults to all."""
        payment = provider.ledger.payment(request.path_params["payment_id"])
        raw_amount = request.query_params.get("amount")
        amount = (
            None
            if raw_amount is None
            else parsing.money({"value": raw_amount, "currency": payment.amount.currency}, "amount")
        )
        description = parsing.description(request.query_params.get("description"), "refund")
        outcome = provider.refund_payment(
            payment.id, amount, description, copies=copies_of(request)
        )
        return await answer(request, outcome)

    async def decline(request: Request) -> JSONResponse:
        """The saved method's bank declines its next ``times`` charges (default 1; 0 lets
        them through again) with ``reason`` (default ``insufficient_funds``)."""
        raw = request.query_params.get("times", "1")
        if not raw.isdigit() or int(raw) > MAX_DECLINES:
            raise invalid_request(f"times must be a whole number from 0 to {MAX_DECLINES}", "times")
        reason = choice(request, "reason", CANCELLATION_REASONS, "insufficient_funds")
        return JSONResponse(provider.decline(request.path_params["method_id"], int(raw), reason))

    async def notify(request: Request) -> JSONResponse:
        """Send the request body, byte for byte, as a notification (forgeries, junk)."""
        deliveries = deliverer.send(await request.body(), copies_of(request))
        return await listed(request, deliveries)

    async def redeliver(request: Request) -> JSONResponse:
        """Send an earlier notification again, as YooKassa does hours later."""
        earlier = deliverer.find(request.path_params["delivery_id"])
        return await listed(request, deliverer.send(earlier.body, copies_of(request)))

    async def deliveries(request: Request) -> JSONResponse:
        """Every delivery so far, oldest first; ``wait`` lets in-flight ones finish first."""
        if waits(request):
            await deliverer.wait()
        found = deliverer.history(
            request.query_params.get("payment_id"), request.query_params.get("event")
        )
        return JSONResponse({"items": [delivery.to_json() for delivery in found]})

    async def listed(request: Request, queued: list[Delivery]) -> JSONResponse:
        if waits(request):
            await deliverer.wait(queued)
        return JSONResponse({"deliveries": [delivery.to_json() for delivery in queued]})

    async def webhook(request: Request) -> JSONResponse:
        """GET the webhook URL; PUT ``{"url": "http://..."}`` (or null) to change it."""
        if request.method == "PUT":
            url = parsing.json_object(await request.body()).get("url")
            try:
                deliverer.webhook_url = None if url is None else checked_webhook_url(str(url))
            except ValueError as error:
                raise invalid_request(str(error), "url") from error
        return JSONResponse({"url": deliverer.webhook_url})

    prefix = "/emulator"
    return [
        Route(f"{prefix}/payments/{{payment_id}}/pay", pay, methods=["POST"]),
        Route(f"{prefix}/payments/{{payment_id}}/cancel", cancel, methods=["POST"]),
        Route(f"{prefix}/payments/{{payment_id}}/refund", refund, methods=["POST"]),
        Route(f"{prefix}/payment_methods/{{method_id}}/decline", decline, methods=["POST"]),
        Route(f"{prefix}/notifications", notify, methods=["POST"]),
        Route(f"{prefix}/deliveries", deliveries, methods=["GET"]),
        Route(f"{prefix}/deliveries/{{delivery_id}}/redeliver", redeliver, methods=["POST"]),
        Route(f"{prefix}/webhook", webhook, methods=["GET", "PUT"]),
    ]
