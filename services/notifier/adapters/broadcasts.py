"""``broadcasts`` (one per admin request) and ``broadcast_deliveries`` (one per recipient).

A broadcast's recipients are fixed once, as unique-key inserts, so a restart resumes
the same list; each delivery's outcome is written by the instance that claimed it.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from keyland.indexes import Owned
from keyland.mongo import Document
from services.notifier.adapters.users import Recipient

PENDING = "pending"
UNFINISHED = ("preparing", "sending")


class Broadcasts:
    def __init__(
        self, broadcasts: AsyncCollection[Document], deliveries: AsyncCollection[Document]
    ) -> None:
        self._broadcasts = broadcasts
        self._deliveries = deliveries

    def owned(self) -> list[Owned]:
        return [
            Owned(self._broadcasts, (("status",),)),
            Owned(self._deliveries, (("broadcast_id", "status"),)),
        ]

    async def request(
        self,
        broadcast_id: str,
        admin_id: int,
        text: str,
        buttons: list[str],
        requested_at: datetime,
    ) -> None:
        """Record an admin's broadcast, preparing (once: a redelivered request is there)."""
        with contextlib.suppress(DuplicateKeyError):
            await self._broadcasts.insert_one(
                {
                    "_id": broadcast_id,
                    "admin_id": admin_id,
                    "text": text,
                    "buttons": buttons,
                    "status": "preparing",
                    "requested_at": requested_at,
                }
            )

    async def unfinished(self) -> list[Document]:
        """Broadcasts still preparing or sending. Asked every second by the broadcast
        loop: one equality lookup on the indexed ``status`` per state, not an ``$in``
        (which FerretDB answers by reading the whole collection)."""
        return [
            doc for status in UNFINISHED async for doc in self._broadcasts.find({"status": status})
        ]

    async def add_recipients(self, broadcast_id: str, recipients: list[Recipient]) -> None:
        documents = [
            {
                "_id": f"{broadcast_id}:{r.telegram_id}",
                "broadcast_id": broadcast_id,
                "telegram_id": r.telegram_id,
                "language_code": r.language_code,
                "status": PENDING,
            }
            for r in recipients
        ]
        for start in range(0, len(documents), 500):
            with contextlib.suppress(BulkWriteError):  # some were added before a restart
                await self._deliveries.insert_many(documents[start : start + 500], ordered=False)

    async def update(self, broadcast_id: str, **fields: Any) -> None:
        await self._broadcasts.update_one({"_id": broadcast_id}, {"$set": fields})

    async def pending(self, broadcast_id: str, limit: int) -> list[Document]:
        cursor = self._deliveries.find({"broadcast_id": broadcast_id, "status": PENDING}).sort(
            "_id", ASCENDING
        )
        return [doc async for doc in cursor.limit(limit)]

    async def finish_delivery(
        self, delivery_id: str, status: str, at: datetime, **details: Any
    ) -> None:
        await self._deliveries.update_one(
            {"_id": delivery_id}, {"$set": {"status": status, "at": at, **details}}
        )

    async def counts(self, broadcast_id: str) -> Counter[str]:
        pipeline: list[dict[str, Any]] = [
            {"$match": {"broadcast_id": broadcast_id}},
            {"$group": {"_id": "$status", "n": {"$sum": 1}}},
        ]
        return Counter(
            {doc["_id"]: doc["n"] async for doc in await self._deliveries.aggregate(pipeline)}
        )
