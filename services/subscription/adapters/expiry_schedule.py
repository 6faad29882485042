"""The ``expiry_due`` collection: when each user's access lapses, filed by minute and hour.

The subscription handler files an entry whenever a user's ``until`` moves (a unique-key
insert, ``_id`` = user and ``until``, so a redelivery files nothing new); the expiry sweep
reads them bucket by bucket with equality lookups on indexed keys and deletes what it
has swept. An entry whose ``until`` has moved on since is stale: the sweep checks the
user's current ``until`` before announcing anything. The sweep's cursor (the first
minute not swept to its end) is one document in the same collection.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from keyland.indexes import Owned
from keyland.mongo import Document
from keyland.time_buckets import Bucket, hour_key, minute_key

_CURSOR, _BACKFILLED = "cursor", "backfilled"


class ExpirySchedule:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    def owned(self) -> list[Owned]:
        return [Owned(self._collection, (("minute",), ("hour",)))]

    async def file(self, telegram_id: int, until: datetime) -> None:
        """File that ``telegram_id``'s access lapses at ``until`` (idempotent)."""
        with contextlib.suppress(DuplicateKeyError):
            await self._collection.insert_one(
                {
                    "_id": f"{telegram_id}:{until.isoformat()}",
                    "telegram_id": telegram_id,
                    "until": until,
                    "minute": minute_key(until),
                    "hour": hour_key(until),
                }
            )

    async def due(self, bucket: Bucket) -> list[Document]:
        return await self._collection.find({bucket.field: bucket.key}).to_list(None)

    async def forget(self, entry_ids: list[str]) -> None:
        for entry_id in entry_ids:
            await self._collection.delete_one({"_id": entry_id})

    async def cursor(self) -> datetime | None:
        found = await self._collection.find_one({"_id": _CURSOR})
        return None if found is None else found["at"]

    async def move_cursor(self, at: datetime) -> None:
        await self._collection.replace_one({"_id": _CURSOR}, {"at": at}, upsert=True)

    async def backfilled(self) -> bool:
        return await self._collection.find_one({"_id": _BACKFILLED}) is not None

    async def mark_backfilled(self, at: datetime) -> None:
        await self._collection.replace_one({"_id": _BACKFILLED}, {"at": at}, upsert=True)
