"""Reads of the ``users`` read model: for the expiry sweep, the cleanup and the read API.

The agent's :class:`~.users.Users` is the one writer of these documents; everything else
in the service reads them here, by ``_id`` or by an indexed field, never by a range but
at start (the sweeps' backfills).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from keyland.mongo import Document, user_document_id
from services.subscription.adapters.users import VIEW_ONLY

_ACTIVITY = {"telegram_id": 1, "username": 1, "registered_at": 1, "last_purchase_at": 1, "until": 1}


class UserReads:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def user(self, telegram_id: int) -> Document | None:
        """The user's document without the ledger, outbox and share (their view)."""
        return await self._collection.find_one({"_id": user_document_id(telegram_id)}, VIEW_ONLY)

    async def lapse(self, telegram_id: int) -> Document | None:
        """What an expiry depends on: ``until``, ``registered`` and ``key_id``."""
        return await self._collection.find_one(
            {"_id": user_document_id(telegram_id)}, {"until": 1, "registered": 1, "key_id": 1}
        )

    async def renewal(self, telegram_id: int) -> Document | None:
        """The renewal charge due next for the user (see ``users.renewal_document``)."""
        found = await self._collection.find_one(
            {"_id": user_document_id(telegram_id)}, {"renewal": 1}
        )
        return None if found is None else found.get("renewal")

    def registered_until_after(self, since: datetime) -> AsyncIterator[Document]:
        """``telegram_id`` and ``until`` of registered users whose access ends after ``since``."""
        query = {"registered": True, "until": {"$gt": since}}
        return aiter(self._collection.find(query, {"telegram_id": 1, "until": 1}))

    async def activity(self, telegram_id: int) -> Document | None:
        """What the cleanup judges by: registration, last purchase, ``until``, username."""
        return await self._collection.find_one({"_id": user_document_id(telegram_id)}, _ACTIVITY)

    def registered_activity(self) -> AsyncIterator[Document]:
        """:meth:`activity` of every registered user."""
        return aiter(self._collection.find({"registered": True}, _ACTIVITY))

    async def by_username(self, username_lower: str, limit: int) -> list[Document]:
        """:meth:`user` of the users with this username (case ignored)."""
        found = self._collection.find({"username_lower": username_lower}, VIEW_ONLY).limit(limit)
        return await found.to_list(None)

    async def registered_ids(self, after: int, limit: int) -> list[int]:
        """Registered users' ids after ``after``, in the order of the documents' ``_id``."""
        query = {"_id": {"$gt": user_document_id(after)}, "registered": True}
        cursor = self._collection.find(query, {"telegram_id": 1}).sort("_id", 1).limit(limit)
        return [document["telegram_id"] async for document in cursor]

    async def referral_days_earned(self, telegram_id: int) -> int | None:
        """The referrer's bonus days so far; None for no such user."""
        referrer = await self._collection.find_one(
            {"_id": user_document_id(telegram_id)}, {"referral_days_earned": 1}
        )
        if referrer is None:
            return None
        days: int = referrer.get("referral_days_earned", 0)
        return days

    async def invited_by(self, telegram_id: int) -> int:
        """How many users name ``telegram_id`` as their referrer."""
        return await self._collection.count_documents({"referrer_id": telegram_id})
