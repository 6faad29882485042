"""``node_outages``: who was told of each node outage, so the news of its end reaches the
same users, and a replay of the announcement the same users again (under the same ids).

One document per outage (``_id``: node and outage start), written once by an insert: the
first handling of the announcement fixes who is told, and a later one (a redelivery, a
replay, another instance) reads that list back instead of asking again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from keyland.indexes import Owned
from keyland.mongo import Document


class Outages:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    def owned(self) -> list[Owned]:
        return [Owned(self._collection)]

    async def told(self, outage: str) -> list[int] | None:
        """The users told of ``outage``, or None when nobody was told of it yet."""
        document = await self._collection.find_one({"_id": outage})
        return None if document is None else list(document["told"])

    async def fix_told(self, outage: str, told: Sequence[int], at: datetime) -> list[int]:
        """Record ``told`` as the users of ``outage`` unless a list is there already;
        either way, the list that stands."""
        try:
            await self._collection.insert_one({"_id": outage, "told": list(told), "at": at})
        except DuplicateKeyError:
            standing = await self.told(outage)
            assert standing is not None
            return standing
        return list(told)
