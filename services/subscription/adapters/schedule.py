"""A schedule: moments filed per user under equality keys, swept bucket by bucket.

Two collections use it. ``expiry_due``: when each user's access lapses, by minute and
hour (the expiry sweep). ``inactive_due``: when each user becomes a candidate for the
weekly cleanup, by day and year. The subscription handler files an entry whenever the
moment moves (a unique-key insert, ``_id`` = user and moment, so a redelivery files
nothing new); a sweep reads them bucket by bucket with equality lookups on indexed keys
and deletes what it has swept. An entry whose moment has moved on since is stale: each
sweep checks the user's current document before acting on one. A sweep's cursor (the
first fine span not swept to its end) is one document in the same collection.

A moment already past is filed under the span of ``clock() + margin`` instead: a sweep
may already have moved its cursor past the moment's own span (a late event, a replay),
and would never read it there. The margin covers the clocks of the filing and the
sweeping process disagreeing a little (none for the expiry sweep: it runs in the
handler's own process).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection

from keyland.indexes import Owned
from keyland.mongo import Document, insert_new
from keyland.time_buckets import EXPIRY, Bucket, Scales

_CURSOR, _BACKFILLED = "cursor", "backfilled"


def entry(scales: Scales, telegram_id: int, at: datetime, filed: datetime) -> Document:
    """The document that files ``telegram_id``'s moment ``at`` under ``filed``'s buckets."""
    return {
        "_id": f"{telegram_id}:{at.isoformat()}",
        "telegram_id": telegram_id,
        "at": at,
        scales.fine.field: scales.fine.key(filed),
        scales.coarse.field: scales.coarse.key(filed),
    }


def wall_clock() -> datetime:
    return datetime.now(UTC)


class Schedule:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        scales: Scales = EXPIRY,
        clock: Callable[[], datetime] = wall_clock,
        margin: timedelta = timedelta(0),
    ) -> None:
        self._collection = collection
        self._scales = scales
        self._clock = clock
        self._margin = margin

    def owned(self) -> list[Owned]:
        fine, coarse = self._scales.fine.field, self._scales.coarse.field
        return [Owned(self._collection, ((fine,), (coarse,)))]

    async def file(self, telegram_id: int, at: datetime) -> None:
        """File that something is due for ``telegram_id`` at ``at`` (idempotent)."""
        await self.file_many([(telegram_id, at)])

    async def file_many(self, moments: Sequence[tuple[int, datetime]]) -> None:
        """:meth:`file` for each (user, moment), in one unordered insert: the entries
        filed already (a redelivery, a crash before the outbox was cleared) are left
        alone, every other one is filed."""
        now = self._clock() + self._margin
        entries = [entry(self._scales, who, at, max(at, now)) for who, at in moments]
        await insert_new(self._collection, entries)

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

    async def backfilled(self, generation: str = "") -> bool:
        """Whether :meth:`mark_backfilled` was called with ``generation`` (what the
        backfill depended on, e.g. a setting; a new one asks for a new backfill)."""
        found = await self._collection.find_one({"_id": _BACKFILLED})
        return found is not None and found.get("generation", "") == generation

    async def mark_backfilled(self, at: datetime, generation: str = "") -> None:
        await self._collection.replace_one(
            {"_id": _BACKFILLED}, {"at": at, "generation": generation}, upsert=True
        )
