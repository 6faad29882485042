"""The ``payments`` collection: one document per provider payment, for stats and support.

A paid gift (``GiftPurchased``) is recorded under its buyer with ``status`` ``gift``.
A held payment (paid, but not credited as a plan: see ``PaymentHeld``) has ``status``
``held`` until an admin grants it (``credited``); its refunds are recorded like any
payment's (one of a payment that names no user comes as ``HeldPaymentRefunded``), and a
fully refunded one leaves the admins' list. Admins list the held ones by the indexed ``status``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.asynchronous.collection import AsyncCollection

from events.payments import GiftPurchased, HeldPaymentRefunded, PaymentHeld
from keyland.indexes import Owned
from keyland.mongo import Document, insert_new
from services.subscription.domain.ledger import Entry, Paid, Refunded


class Payments:
    """Record credited payments and their refunds (idempotent upserts by payment id)."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    def owned(self) -> list[Owned]:
        return [Owned(self._collection, (("telegram_id",), ("status",)))]

    async def hold(self, held: PaymentHeld) -> None:
        """Record a held payment once; a grant that came first is not undone."""
        await self._collection.update_one(
            {"_id": f"{held.provider}:{held.payment_id}"},
            {
                "$setOnInsert": {"refunds": {}, "status": "held"},
                "$set": {
                    "telegram_id": held.telegram_id,
                    "held": {
                        "payment_id": held.payment_id,
                        "provider": held.provider,
                        "amount": str(held.amount),
                        "currency": held.currency,
                        "plan": held.plan,
                        # a list, not a sub-document: metadata keys may hold "." or "$"
                        # (and FerretDB stores no nested arrays)
                        "metadata": [
                            {"key": key, "value": value}
                            for key, value in sorted(held.metadata.items())
                        ],
                        "reason": str(held.reason),
                        "paid_at": held.paid_at,
                    },
                },
            },
            upsert=True,
        )

    async def gift(self, purchased: GiftPurchased) -> None:
        """Record a paid gift under its buyer (status ``gift``): the plan went to the gift's
        code, not to the buyer's time; its refunds are recorded like any payment's."""
        await self._collection.update_one(
            {"_id": f"{purchased.provider}:{purchased.payment_id}"},
            {
                "$setOnInsert": {"refunds": {}},
                "$set": {
                    "status": "gift",
                    "telegram_id": purchased.telegram_id,
                    "gift_code": purchased.code,
                    "plan": purchased.plan,
                    "months": purchased.months,
                    "amount": str(purchased.amount),
                    "currency": purchased.currency,
                    "paid_at": purchased.paid_at,
                },
            },
            upsert=True,
        )

    async def held(self, limit: int) -> list[Document]:
        """Up to ``limit`` held payments, by the indexed ``status`` (refunded ones too)."""
        return await self._collection.find({"status": "held"}).limit(limit).to_list(None)

    async def of_user(self, telegram_id: int, limit: int) -> list[Document]:
        """Up to ``limit`` of the user's payments, by the indexed ``telegram_id``."""
        cursor = self._collection.find({"telegram_id": telegram_id}).limit(limit)
        return await cursor.to_list(None)

    async def payment(self, provider: str, payment_id: str) -> Document | None:
        """One payment, by its ``_id``."""
        return await self._collection.find_one({"_id": f"{provider}:{payment_id}"})

    async def refund_held(self, refund: HeldPaymentRefunded) -> None:
        """Record the refund of a held payment that names no user (once per refund id)."""
        await self._collection.update_one(
            {"_id": f"{refund.provider}:{refund.payment_id}"},
            {"$set": {f"refunds.{refund.refund_id}": str(refund.amount)}},
            upsert=True,
        )

    async def record_many(self, entries: Sequence[tuple[int, Entry]]) -> None:
        """:meth:`record` each (user, entry), in order; the first credit of each payment
        not stored yet goes in one insert for the lot, the rest one by one."""
        paid = [
            {"_id": e.payment_id, "refunds": {}, **credited(t, e)}
            for t, e in entries
            if isinstance(e, Paid)
        ]
        fresh = {d["_id"] for d in paid} - set(await insert_new(self._collection, paid))
        for telegram_id, entry in entries:
            if isinstance(entry, Paid) and entry.payment_id in fresh:
                fresh.discard(entry.payment_id)  # inserted: its first credit
                continue
            await self.record(telegram_id, entry)

    async def record(self, telegram_id: int, entry: Entry) -> None:
        if isinstance(entry, Paid):
            await self._collection.update_one(
                {"_id": entry.payment_id},
                {"$setOnInsert": {"refunds": {}}, "$set": credited(telegram_id, entry)},
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


def credited(telegram_id: int, entry: Paid) -> Document:
    """The fields a credited payment's document holds (besides its ``refunds``)."""
    return {
        "status": "credited",
        "telegram_id": telegram_id,
        "plan": entry.plan,
        "months": entry.months,
        "amount": str(entry.amount),
        "currency": entry.currency,
        "paid_at": entry.at,
        "event_id": str(entry.event_id),
    }
