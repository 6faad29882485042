"""What the notifier keeps about users: ``profiles`` (language, access end, registered;
learnt from events, see :mod:`..domain.profiles`) and ``recipients`` (who blocked the bot).

It reads no other service's collection. ``profiles`` has one writer, the consumer that
owns the user's partition, so a profile is saved whole. ``recipients`` is written by
whoever learns of a block: a send that Telegram refused, or the consumer when the user
talks to the bot again.

A user is recorded as blocked when Telegram says they blocked the bot or deleted their
account, and unblocked when they talk to the bot again after that (they cannot while
the bot is blocked); meanwhile notices and broadcasts skip them without a send.

The consumer keeps the profiles of the users it owns as it last wrote or read them
(:mod:`keyland.kafka.owned_cache`); the senders read the database.

Both collections key a user's document by ``user:<telegram_id>``
(:func:`keyland.mongo.user_document_id`); the integer id is each document's ``telegram_id``.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from keyland.indexes import Owned
from keyland.kafka.owned_cache import OwnedCache
from keyland.mongo import Document, user_document_id
from services.notifier.domain.profiles import Profile


def as_stored(profile: Profile) -> Profile:
    """``profile`` as saving and loading it gives it back: the database keeps times to the
    millisecond, so a profile that differs from the stored one by less is not a change."""

    def stored(moment: datetime | None) -> datetime | None:
        return (
            None
            if moment is None
            else moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        )

    return replace(profile, language_at=stored(profile.language_at), until=stored(profile.until))


@dataclass(frozen=True)
class Recipient:
    telegram_id: int
    language_code: str | None
    until: datetime | None
    blocked: bool = False


class Users:
    def __init__(
        self,
        profiles: AsyncCollection[Document],
        recipients: AsyncCollection[Document],
        owned: OwnedCache[Profile] | None = None,
    ) -> None:
        self._profiles = profiles
        self._recipients = recipients
        self._owned: OwnedCache[Profile] = OwnedCache(0) if owned is None else owned

    def owned(self) -> list[Owned]:
        return [Owned(self._profiles, (("region",),)), Owned(self._recipients)]

    async def in_region(self, region: str) -> list[Profile]:
        """Every profile whose chosen region is ``region`` (an indexed equality: read
        when a node of the region goes down or comes back, which is rare)."""
        fields = {"telegram_id": 1, "registered": 1, "until": 1, "region": 1}
        return [
            Profile(
                doc["telegram_id"],
                registered=doc.get("registered", False),
                until=doc.get("until"),
                region=doc.get("region"),
            )
            async for doc in self._profiles.find({"region": region}, fields)
        ]

    async def profile(self, telegram_id: int) -> Profile:
        """The user's profile (an empty one for a user not heard of yet), for the consumer
        that owns them."""
        return await self._owned.read_through(telegram_id, lambda: self._read_profile(telegram_id))

    async def _read_profile(self, telegram_id: int) -> Profile:
        document = await self._profiles.find_one({"_id": user_document_id(telegram_id)})
        if document is None:
            return Profile(telegram_id)
        known = Profile.__dataclass_fields__
        return Profile(**{name: value for name, value in document.items() if name in known})

    async def save_profile(self, profile: Profile) -> None:
        """Save the user's whole profile (one writer: their partition's consumer)."""
        key = user_document_id(profile.telegram_id)
        await self._owned.write_through(
            profile.telegram_id,
            as_stored(profile),  # as a read gives it back: an unchanged profile is not saved
            lambda: self._profiles.replace_one({"_id": key}, asdict(profile), upsert=True),
        )

    async def get(self, telegram_id: int) -> Recipient:
        """The user's language and access end, and whether they blocked the bot: two
        reads by ``_id``, side by side (one round trip's wait)."""
        key = {"_id": user_document_id(telegram_id)}
        user, recipient = await asyncio.gather(
            self._profiles.find_one(key, {"language_code": 1, "until": 1}),
            self._recipients.find_one(key, {"blocked": 1}),
        )
        doc = user or {}
        blocked = bool((recipient or {}).get("blocked"))
        return Recipient(telegram_id, doc.get("language_code"), doc.get("until"), blocked)

    async def reachable(self) -> list[Recipient]:
        """Every registered user who has not blocked the bot, in document ``_id`` order
        (``user:<id>`` as text, not numeric order)."""
        blocked = {
            doc["telegram_id"]
            async for doc in self._recipients.find({"blocked": True}, {"telegram_id": 1})
        }
        fields = {"telegram_id": 1, "language_code": 1, "until": 1}
        cursor = self._profiles.find({"registered": True}, fields).sort("_id", 1)
        return [
            Recipient(doc["telegram_id"], doc.get("language_code"), doc.get("until"))
            async for doc in cursor
            if doc["telegram_id"] not in blocked
        ]

    async def mark_blocked(self, telegram_id: int, blocked: bool, at: datetime) -> None:
        await self._recipients.update_one(
            {"_id": user_document_id(telegram_id)},
            {"$set": {"telegram_id": telegram_id, "blocked": blocked, "changed_at": at}},
            upsert=True,
        )

    async def seen(self, telegram_id: int, at: datetime) -> bool:
        """The user talked to the bot at ``at``: a block recorded before then is over.
        True if they were recorded as blocked. (A block recorded later stands: an old
        event replayed does not undo it.)"""
        result = await self._recipients.update_one(
            {"_id": user_document_id(telegram_id), "blocked": True, "changed_at": {"$lt": at}},
            {"$set": {"blocked": False, "changed_at": at}},
        )
        return result.modified_count > 0
