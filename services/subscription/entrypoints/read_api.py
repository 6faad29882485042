"""The read API for the bot, admins and operators (seed 3.4).

It reads; changes to a user go through ``admin.commands`` events, which the admin routes
under ``/v1/admin`` publish (:mod:`.admin_api`, with a token of their own). Every other
route but ``/health`` needs ``Authorization: Bearer <KEYLAND_SUBSCRIPTION_API_TOKEN>``,
``/metrics`` too (it carries the business gauges: users, active, trials, revenue).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from events.users import UserTraffic
from keyland.http import BearerTokenMiddleware, BodyLimitMiddleware
from keyland.mongo import Document
from keyland.observability import checks
from keyland.observability.ops_server import ops_routes
from services.subscription.adapters import metrics
from services.subscription.adapters.figure_shards import FigureShards
from services.subscription.adapters.payments import Payments
from services.subscription.adapters.traffic import TrafficBook
from services.subscription.adapters.user_reads import UserReads
from services.subscription.adapters.users import stored_view
from services.subscription.entrypoints.admin_api import PREFIX, admin_app
from services.subscription.handlers.admin_orders import AdminOrders
from services.subscription.handlers.stats import business_stats, set_business_gauges

log = logging.getLogger(__name__)

MAX_PAGE = 1000
USER_PAYMENTS = 20
"""A user's payments the read API lists, newest first (of the first 200 stored)."""


def public_user(document: Document) -> dict[str, Any]:
    """A stored user as the read API answers: their :class:`~events.users.UserView`."""
    return stored_view(document).model_dump(mode="json")


def public_held(document: Document) -> dict[str, Any]:
    """A held payment as admins see it (``refunded``: how much went back so far)."""
    held = document["held"]
    refunded = sum((Decimal(v) for v in (document.get("refunds") or {}).values()), Decimal(0))
    return {
        "payment_id": held["payment_id"],
        "provider": held["provider"],
        "telegram_id": document.get("telegram_id"),
        "amount": held["amount"],
        "currency": held["currency"],
        "plan": held.get("plan"),
        "metadata": {pair["key"]: pair["value"] for pair in held.get("metadata") or []},
        "reason": held["reason"],
        "paid_at": held["paid_at"].isoformat(),
        "refunded": str(refunded),
    }


def public_payment(document: Document) -> dict[str, Any] | None:
    """A credited or held payment as admins see it; None for a document that only holds
    refunds (one that came before its payment)."""
    refunded = sum((Decimal(v) for v in (document.get("refunds") or {}).values()), Decimal(0))
    paid = document.get("held") if document.get("status") == "held" else document
    if not paid or "amount" not in paid:
        return None
    provider, _, payment_id = str(document["_id"]).partition(":")
    paid_at = paid.get("paid_at")
    return {
        "payment_id": payment_id,
        "provider": provider,
        "telegram_id": document.get("telegram_id"),
        "status": document["status"],
        "plan": paid.get("plan"),
        "amount": paid["amount"],
        "currency": paid["currency"],
        "refunded": str(refunded),
        "paid_at": paid_at.isoformat() if isinstance(paid_at, datetime) else None,
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def refresh_business_gauges(shards: FigureShards, every_s: float) -> None:
    """Keep the business gauges of ``/metrics`` current."""
    while True:
        try:
            set_business_gauges(await business_stats(shards))
        except Exception as error:  # noqa: BLE001 - stale gauges until the next round
            log.warning("business figures not refreshed: %r", error)
        await asyncio.sleep(every_s)


def traffic_route(traffic: TrafficBook) -> Callable[[Request], Awaitable[Response]]:
    """``GET /v1/users/{id}/traffic``: the user's traffic this month (UTC), a
    :class:`~events.users.UserTraffic`; zero for a user nothing was counted for. One read
    by ``_id``."""

    async def this_month(request: Request) -> Response:
        raw = request.path_params["telegram_id"]
        if not raw.isdigit() or int(raw) == 0:
            return _error(422, "telegram_id must be a positive integer")
        month = (await traffic.load(int(raw))).month(datetime.now(UTC))
        view = UserTraffic(
            telegram_id=int(raw),
            month=month.month,
            uplink_bytes=month.uplink,
            downlink_bytes=month.downlink,
        )
        return JSONResponse(view.model_dump(mode="json"))

    return this_month


def payments_route(payments: Payments) -> Callable[[Request], Awaitable[Response]]:
    """``GET /v1/users/{id}/payments``: the user's payments (credited, gifts, held),
    newest first. One read by the indexed ``telegram_id``."""

    async def of_user(request: Request) -> Response:
        raw = request.path_params["telegram_id"]
        if not raw.isdigit() or int(raw) == 0:
            return _error(422, "telegram_id must be a positive integer")
        found = [
            view
            for view in map(public_payment, await payments.of_user(int(raw), 200))
            if view is not None
        ]
        found.sort(key=lambda view: str(view["paid_at"] or ""), reverse=True)
        return JSONResponse({"payments": found[:USER_PAYMENTS]})

    return of_user


def build_app(
    db: AsyncDatabase[Document],
    token: str,
    stats_every_s: float = 60.0,
    *,
    admin: AdminOrders | None = None,
    admin_token: str | None = None,
) -> Starlette:
    """The read API; with ``admin`` and ``admin_token``, the admin routes too."""
    users, payments = UserReads(db["users"]), Payments(db["payments"])
    shards = FigureShards(db["figures"])
    metrics.register_business_gauges()

    async def get_user(request: Request) -> Response:
        raw = request.path_params["telegram_id"]
        if not raw.isdigit():
            return _error(422, "telegram_id must be a positive integer")
        document = await users.user(int(raw))
        if document is None:
            return _error(404, f"no user {raw}")
        return JSONResponse(public_user(document))

    async def find_users(request: Request) -> Response:
        username = request.query_params.get("username", "").lstrip("@").lower()
        if not username:
            return _error(422, "give ?username=")
        found = [public_user(d) for d in await users.by_username(username, limit=50)]
        return JSONResponse({"users": found})

    async def list_ids(request: Request) -> Response:
        """Registered users' ids, a page of ``limit`` after the id ``after``; pass the answer's
        ``next_after`` as the next ``after`` (``null``: last page). Pages follow the order
        of the documents' ``_id`` (``user:<id>``, a string): ids come in text order
        (``10`` before ``9``), not numeric order; every id comes exactly once."""
        try:
            after = int(request.query_params.get("after", "0"))
            limit = min(int(request.query_params.get("limit", str(MAX_PAGE))), MAX_PAGE)
        except ValueError:
            return _error(422, "after and limit must be integers")
        ids = await users.registered_ids(after, limit)
        return JSONResponse(
            {"telegram_ids": ids, "next_after": ids[-1] if len(ids) == limit else None}
        )

    async def referrals(request: Request) -> Response:
        raw = request.path_params["telegram_id"]
        if not raw.isdigit():
            return _error(422, "telegram_id must be a positive integer")
        bonus_days = await users.referral_days_earned(int(raw))
        if bonus_days is None:
            return _error(404, f"no user {raw}")
        invited = await users.invited_by(int(raw))
        return JSONResponse({"invited": invited, "bonus_days": bonus_days})

    async def held_payments(_: Request) -> Response:
        """Paid payments waiting for an admin (grant or refund), oldest first; fully
        refunded ones are done and left out. An admin's page, not a hot path."""
        found = []
        for document in await payments.held(MAX_PAGE):
            held = public_held(document)
            if Decimal(held["refunded"]) < Decimal(held["amount"]):
                found.append(held)
        found.sort(key=lambda held: str(held["paid_at"]))
        return JSONResponse({"payments": found[:50]})

    async def payment(request: Request) -> Response:
        """One payment of a provider (a lookup by ``_id``), e.g. for an admin's refund."""
        provider, payment_id = request.path_params["provider"], request.path_params["payment_id"]
        document = await payments.payment(provider, payment_id)
        found = public_payment(document) if document is not None else None
        if found is None:
            return _error(404, f"no payment {provider}:{payment_id}")
        return JSONResponse(found)

    async def stats(_: Request) -> Response:
        return JSONResponse(await business_stats(shards))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        refresher = asyncio.create_task(refresh_business_gauges(shards, stats_every_s))
        try:
            yield
        finally:
            refresher.cancel()
            if admin is not None:
                await admin.publisher.close()

    return Starlette(
        lifespan=lifespan,
        middleware=[
            Middleware(BodyLimitMiddleware),
            Middleware(BearerTokenMiddleware, token=token, delegated=[PREFIX]),
        ],
        routes=[
            *ops_routes({"database": checks.database(db)}),
            Route("/v1/users", find_users),
            Route("/v1/users/ids", list_ids),
            Route("/v1/users/{telegram_id}/referrals", referrals),
            Route("/v1/users/{telegram_id}/traffic", traffic_route(TrafficBook(db["traffic"]))),
            Route("/v1/users/{telegram_id}/payments", payments_route(payments)),
            Route("/v1/stats", stats),
            Route("/v1/payments/held", held_payments),
            Route("/v1/payments/{provider}/{payment_id}", payment),
            Route("/v1/users/{telegram_id}", get_user),
            Mount(PREFIX, app=admin_app(admin, admin_token)),
        ],
    )
