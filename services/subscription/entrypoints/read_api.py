"""The read API for the bot, admins and operators (seed 3.4). Reads only.

Changes to a user go through ``admin.commands`` events, never through this API.
Every route but ``/health`` needs ``Authorization: Bearer <KEYLAND_SUBSCRIPTION_API_TOKEN>``,
``/metrics`` too (it carries the business gauges: users, active, trials, revenue).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from keyland.http import BearerTokenMiddleware, BodyLimitMiddleware
from keyland.mongo import Document, user_document_id
from keyland.observability import checks
from keyland.observability.ops_server import ops_routes
from services.subscription.adapters import metrics
from services.subscription.adapters.figure_shards import FigureShards
from services.subscription.stats import business_stats, set_business_gauges

log = logging.getLogger(__name__)

PUBLIC_FIELDS = (
    "key_id", "registered", "registered_at", "username", "language_code", "referrer_id",
    "region", "until", "trial_used", "purchases", "last_purchase_at",
    "referral_days_earned", "purged_at",
)  # fmt: skip
MAX_PAGE = 1000


def _public(document: Document) -> dict[str, Any]:
    user: dict[str, Any] = {"telegram_id": document["telegram_id"]}
    for name in PUBLIC_FIELDS:
        value = document.get(name)
        user[name] = value.isoformat() if isinstance(value, datetime) else value
    return user


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


def build_app(db: AsyncDatabase[Document], token: str, stats_every_s: float = 60.0) -> Starlette:
    users = db["users"]
    shards = FigureShards(db["figures"])
    metrics.register_business_gauges()

    async def get_user(request: Request) -> Response:
        raw = request.path_params["telegram_id"]
        if not raw.isdigit():
            return _error(422, "telegram_id must be a positive integer")
        document = await users.find_one({"_id": user_document_id(int(raw))})
        if document is None:
            return _error(404, f"no user {raw}")
        return JSONResponse(_public(document))

    async def find_users(request: Request) -> Response:
        username = request.query_params.get("username", "").lstrip("@").lower()
        if not username:
            return _error(422, "give ?username=")
        found = [_public(d) async for d in users.find({"username_lower": username}).limit(50)]
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
        query = {"_id": {"$gt": user_document_id(after)}, "registered": True}
        cursor = users.find(query, {"telegram_id": 1}).sort("_id", 1).limit(limit)
        ids = [d["telegram_id"] async for d in cursor]
        return JSONResponse(
            {"telegram_ids": ids, "next_after": ids[-1] if len(ids) == limit else None}
        )

    async def referrals(request: Request) -> Response:
        raw = request.path_params["telegram_id"]
        if not raw.isdigit():
            return _error(422, "telegram_id must be a positive integer")
        referrer = await users.find_one(
            {"_id": user_document_id(int(raw))}, {"referral_days_earned": 1}
        )
        if referrer is None:
            return _error(404, f"no user {raw}")
        invited = await users.count_documents({"referrer_id": int(raw)})
        return JSONResponse(
            {"invited": invited, "bonus_days": referrer.get("referral_days_earned", 0)}
        )

    async def held_payments(_: Request) -> Response:
        """Paid payments waiting for an admin (grant or refund), oldest first; fully
        refunded ones are done and left out. An admin's page, not a hot path."""
        found = []
        async for document in db["payments"].find({"status": "held"}).limit(MAX_PAGE):
            held = public_held(document)
            if Decimal(held["refunded"]) < Decimal(held["amount"]):
                found.append(held)
        found.sort(key=lambda held: str(held["paid_at"]))
        return JSONResponse({"payments": found[:50]})

    async def stats(_: Request) -> Response:
        return JSONResponse(await business_stats(shards))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        refresher = asyncio.create_task(refresh_business_gauges(shards, stats_every_s))
        try:
            yield
        finally:
            refresher.cancel()

    return Starlette(
        lifespan=lifespan,
        middleware=[
            Middleware(BodyLimitMiddleware),
            Middleware(BearerTokenMiddleware, token=token),
        ],
        routes=[
            *ops_routes({"database": checks.database(db)}),
            Route("/v1/users", find_users),
            Route("/v1/users/ids", list_ids),
            Route("/v1/users/{telegram_id}/referrals", referrals),
            Route("/v1/stats", stats),
            Route("/v1/payments/held", held_payments),
            Route("/v1/users/{telegram_id}", get_user),
        ],
    )
