"""Business figures for admins: users, active, trials, paid, revenue, conversion.

Users are counted only once registered by their own /start (a paid-for or referred id
that never started the bot is no user yet); revenue is what was credited."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from keyland.mongo import Document
from keyland.observability import metrics


async def business_stats(db: AsyncDatabase[Document], now: datetime) -> dict[str, Any]:
    users = db["users"]
    registered = {"registered": True}
    total = await users.count_documents(registered)
    active = await users.count_documents({**registered, "until": {"$gt": now}})
    trials = await users.count_documents({**registered, "trial_used": True})
    paid = await users.count_documents({**registered, "purchases": {"$gt": 0}})
    paid_after_trial = await users.count_documents(
        {**registered, "trial_used": True, "purchases": {"$gt": 0}}
    )
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    fields = {"amount": 1, "currency": 1, "refunds": 1}
    async for payment in db["payments"].find({}, fields):
        if payment.get("amount") is None:  # held, never credited
            continue
        refunded = sum((Decimal(v) for v in (payment.get("refunds") or {}).values()), Decimal(0))
        revenue[payment["currency"]] += Decimal(payment["amount"]) - refunded
    return {
        "users": total,
        "active": active,
        "trials": trials,
        "paid": paid,
        "revenue": {currency: str(amount) for currency, amount in sorted(revenue.items())},
        "trial_to_paid": round(paid_after_trial / trials, 4) if trials else 0.0,
    }


def set_business_gauges(stats: dict[str, Any]) -> None:
    """Expose :func:`business_stats` figures as Prometheus gauges."""
    metrics.USERS.set(stats["users"])
    metrics.ACTIVE_SUBSCRIPTIONS.set(stats["active"])
    metrics.TRIALS.set(stats["trials"])
    metrics.PAID_USERS.set(stats["paid"])
    metrics.TRIAL_TO_PAID.set(stats["trial_to_paid"])
    for currency, amount in stats["revenue"].items():
        metrics.REVENUE.labels(currency).set(float(amount))
