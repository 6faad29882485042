"""Claims: "this instance sends that message", as unique-key inserts.

An insert with a unique ``_id`` is atomic on FerretDB and MongoDB alike, so two notifier
instances never both claim one message. A claim is taken immediately before the send;
a claim whose message never got a result (the sender died in between) is *unconfirmed*:
the message may or may not have reached Telegram, and it is not sent again — a reminder
twice is worse than a reminder missed, and the admin sees the count.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from keyland.indexes import Owned
from keyland.mongo import Document


class Claims:
    def __init__(self, collection: AsyncCollection[Document], instance: str) -> None:
        self._collection = collection
        self._instance = instance

    def owned(self) -> list[Owned]:
        return [Owned(self._collection)]

    async def claim(self, kind: str, key: str, now: datetime) -> bool:
        """True if this instance now owns sending ``key`` (of ``kind``: notice, delivery)."""
        document = {
            "_id": f"{kind}:{key}",
            "kind": kind,
            "key": key,
            "instance": self._instance,
            "at": now,
        }
        try:
            await self._collection.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def claimed_at(self, kind: str, key: str) -> datetime | None:
        document = await self._collection.find_one({"_id": f"{kind}:{key}"}, {"at": 1})
        return None if document is None else document["at"]
