"""``pending_notices``: notices a user must not miss that Telegram could not deliver yet.

One document per notice (``_id`` is the notice's id, so keeping it twice keeps it once),
a copy of the notice plus ``attempt`` (the next redelivery's number) and why it failed;
it is deleted once the notice is settled. A user's are found by ``telegram_id``
(equality on an indexed field), when that user talks to the bot. Only undelivered
notices live here, so the collection stays small whatever the number of notices sent.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from keyland.indexes import Owned
from keyland.mongo import Document
from services.notifier.adapters.notices import notice_document, notice_of
from services.notifier.domain.notices import Notice


@dataclass(frozen=True)
class Pending:
    notice: Notice
    attempt: int
    """Redeliveries so far plus one: each attempt is claimed once (``notice.id:attempt``)."""


class PendingNotices:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    def owned(self) -> list[Owned]:
        return [Owned(self._collection, (("telegram_id",),))]

    async def keep(self, notice: Notice, reason: str, at: datetime) -> None:
        """Keep ``notice`` for its user's next visit (again: no change)."""
        document = {**notice_document(notice, at), "attempt": 1, "reason": reason, "kept_at": at}
        with contextlib.suppress(DuplicateKeyError):
            await self._collection.insert_one(document)

    async def of_user(self, telegram_id: int) -> list[Pending]:
        cursor = self._collection.find({"telegram_id": telegram_id})
        return [Pending(notice_of(doc), int(doc["attempt"])) async for doc in cursor]

    async def try_again(self, notice_id: str, attempt: int, reason: str) -> None:
        """The redelivery ``attempt - 1`` failed for a reason that may pass: the next
        visit makes attempt ``attempt``. (One writer: the user's partition's consumer.)"""
        await self._collection.update_one(
            {"_id": notice_id}, {"$set": {"attempt": attempt, "reason": reason}}
        )

    async def settled(self, notice_id: str) -> None:
        await self._collection.delete_one({"_id": notice_id})
