"""The cleanup's last finished run and the claims on the next one (``cleanup_runs``).

A claim names the last run it follows and an attempt number, ``after:<last run>:<n>``,
and is taken with a unique-key insert: a compare-and-set on the last run, atomic on
FerretDB and MongoDB alike (a conditional update is not on FerretDB: it queries, then
updates, and two workers both see their condition hold). Only the claim's holder writes
the last run, once it has finished.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from keyland.indexes import Owned
from keyland.mongo import Document

_LAST = "last"


def claim_id(after: datetime | None, attempt: int) -> str:
    return f"after:{'none' if after is None else after.isoformat()}:{attempt}"


class CleanupRuns:
    def __init__(self, collection: AsyncCollection[Document], instance: str) -> None:
        self._collection = collection
        self._instance = instance

    def owned(self) -> list[Owned]:
        return [Owned(self._collection)]

    async def last(self) -> datetime | None:
        """When the last run finished (None: never)."""
        found = await self._collection.find_one({"_id": _LAST})
        return None if found is None else found["at"]

    async def claim(self, after: datetime | None, attempt: int, now: datetime) -> bool:
        """True if this worker now runs the cleanup that follows ``after``."""
        document = {"_id": claim_id(after, attempt), "instance": self._instance, "at": now}
        try:
            await self._collection.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def claimed_at(self, after: datetime | None, attempt: int) -> datetime | None:
        found = await self._collection.find_one({"_id": claim_id(after, attempt)}, {"at": 1})
        return None if found is None else found["at"]

    async def finish(self, at: datetime) -> None:
        """Record a finished run (by the holder of its claim only)."""
        await self._collection.replace_one(
            {"_id": _LAST}, {"at": at, "instance": self._instance}, upsert=True
        )
