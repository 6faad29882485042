"""``expiry_marks``: the lapses the expiry sweep announced, one unique key each."""

from __future__ import annotations

import contextlib
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from keyland.indexes import Owned
from keyland.mongo import Document


class ExpiryMarks:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    def owned(self) -> list[Owned]:
        return [Owned(self._collection)]

    async def announced(self, mark: str) -> bool:
        return await self._collection.find_one({"_id": mark}) is not None

    async def remember(self, mark: str, at: datetime) -> None:
        """Record ``mark`` announced (once: a second sweeper's insert changes nothing)."""
        with contextlib.suppress(DuplicateKeyError):
            await self._collection.insert_one({"_id": mark, "announced_at": at})
