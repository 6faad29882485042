"""The ``payments`` collection: one document per provider payment, for stats and support."""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection

from keyland.indexes import Owned
from keyland.mongo import Document
from services.subscription.domain.ledger import Entry, Paid, Refunded


class Payments:
    """Record credited payments and their refunds (idempotent upserts by payment id)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    def owned(self) -> list[Owned]:
        return [Owned(self._collection, (("telegram_id",),))]

    async def record(self, telegram_id: int, entry: Entry) -> None:
        if isinstance(entry, Paid):
            await self._collection.update_one(
                {"_id": entry.payment_id},
                {
                    "$setOnInsert": {"refunds": {}},
                    "$set": {
                        "telegram_id": telegram_id,
                        "plan": entry.plan,
                        "months": entry.months,
                        "amount": str(entry.amount),
                        "currency": entry.currency,
                        "paid_at": entry.at,
                        "event_id": str(entry.event_id),
                    },
                },
                upsert=True,
            )
        elif isinstance(entry, Refunded):
            await self._collection.update_one(
                {"_id": entry.payment_id},
                {
                    "$set": {
                        f"refunds.{entry.refund_id}": str(entry.amount),
                        "telegram_id": telegram_id,
                    }
                },
                upsert=True,
            )
