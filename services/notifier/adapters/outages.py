"""``node_outages``: who was told of each node outage, so the news of its end reaches the
same users, and a replay of the announcement the same users again (under the same ids).

One document per outage (``_id``: node and outage start), written once by an insert: the
first handling of the announcement fixes who is told, and a later one (a redelivery, a
replay, another instance) reads that list back instead of asking again. A user the
notifier learns of late (see :func:`..domain.outages.joins`) is added to the list while
the outage is open (``open``, indexed: the few open outages are read by one equality,
once per batch that taught a profile something); the recovery closes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from keyland.indexes import Owned
from keyland.mongo import Document
from services.notifier.domain.outages import OpenOutage


class Outages:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    def owned(self) -> list[Owned]:
        return [Owned(self._collection, (("open",),))]

    async def told(self, outage: str) -> list[int] | None:
        """The users told of ``outage``, or None when nobody was told of it yet."""
        document = await self._collection.find_one({"_id": outage})
        return None if document is None else list(document["told"])

    async def fix_told(self, outage: OpenOutage, at: datetime) -> list[int]:
        """Record ``outage.told`` as the users of ``outage`` unless a list is there
        already; either way, the list that stands."""
        told = sorted(outage.told)
        document = {
            "_id": outage.key,
            "told": told,
            "at": at,
            "open": True,
            "country": outage.country,
            "event_id": outage.event_id,
            "announced_at": outage.announced_at,
        }
        try:
            await self._collection.insert_one(document)
        except DuplicateKeyError:
            standing = await self.told(outage.key)
            assert standing is not None
            return standing
        return told

    async def open(self) -> list[OpenOutage]:
        """Every outage announced and not over yet."""
        return [
            OpenOutage(
                key=doc["_id"],
                country=doc["country"],
                event_id=doc["event_id"],
                announced_at=doc["announced_at"],
                told=frozenset(doc["told"]),
            )
            async for doc in self._collection.find({"open": True})
        ]

    async def join(self, outage: str, users: Sequence[int]) -> None:
        """Add ``users`` to those told of ``outage`` (once each, however often asked)."""
        await self._collection.update_one(
            {"_id": outage}, {"$addToSet": {"told": {"$each": list(users)}}}
        )

    async def close(self, outage: str) -> list[int] | None:
        """Mark ``outage`` over; the users told of it, or None when nobody was."""
        document = await self._collection.find_one_and_update(
            {"_id": outage}, {"$set": {"open": False}}, return_document=ReturnDocument.AFTER
        )
        return None if document is None else list(document["told"])
