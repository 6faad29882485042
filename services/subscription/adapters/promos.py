"""Promo codes (gifts too) and their uses: ``promo_codes``, ``promo_claims``, ``promo_decisions``.

Every read and write is by ``_id``. Written only by the worker that owns a code's
partition (see :mod:`..domain.promos`); what must never happen twice is a unique-key
insert (a use slot ``CODE#n``, a user's claim ``CODE:user``, a decision by redemption
event id), so a second writer during a rebalance gets a duplicate key, not a second use.
Should two writers decide the same redemption at once, it keeps one slot and gives the
other back; a slot given back is not offered again (uses are taken from the count on),
so such a race can cost a code a use, never add one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from events.admin_commands import PromoCodeCreated
from events.payments import GiftPurchased
from events.subscriptions import PromoRefusal
from keyland.indexes import Owned
from keyland.mongo import Document
from services.subscription.domain.promos import GIFT_VALID, Claim, Decision, Grant, PromoCode


class Promos:
    def __init__(
        self,
        codes: AsyncCollection[Document],
        claims: AsyncCollection[Document],
        decisions: AsyncCollection[Document],
    ) -> None:
        self._codes = codes
        self._claims = claims
        self._decisions = decisions

    def owned(self) -> list[Owned]:
        return [Owned(self._codes), Owned(self._claims), Owned(self._decisions)]

    async def create(self, created: PromoCodeCreated | GiftPurchased, at: datetime) -> bool:
        """Store a new code (an admin's, or a paid gift's); False when the name is taken
        (the first creation wins)."""
        document: Document = {"_id": created.code, "created_at": at, "uses": 0}
        if isinstance(created, PromoCodeCreated):
            document |= {
                "days": created.days,
                "max_uses": created.max_uses,
                "expires_at": created.expires_at,
                "admin_id": created.admin_id,
            }
        else:
            document |= {
                "months": created.months,
                "days": created.days,
                "max_uses": 1,
                "expires_at": at + GIFT_VALID,
                "buyer": created.telegram_id,
                "payment_id": f"{created.provider}:{created.payment_id}",
            }
        try:
            await self._codes.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def code(self, code: str) -> PromoCode | None:
        found = await self._codes.find_one({"_id": code})
        if found is None:
            return None
        return PromoCode(
            code=code,
            days=found["days"],
            max_uses=found["max_uses"],
            expires_at=found["expires_at"],
            created_at=found["created_at"],
            uses=found["uses"],
            months=found.get("months", 0),
            buyer=found.get("buyer"),
        )

    async def claim(self, code: str, telegram_id: int) -> Claim | None:
        found = await self._claims.find_one({"_id": f"{code}:{telegram_id}"})
        return None if found is None else Claim(uuid.UUID(found["event_id"]), found["slot"])

    async def take(self, code: PromoCode, telegram_id: int, event_id: uuid.UUID) -> Decision:
        """Take a use slot (from ``code.uses`` on) and the user's claim for redemption
        ``event_id``; its grant, or why there is none left for it."""
        slot = await self._slot(code, event_id)
        if slot is None:
            return PromoRefusal.USED_UP
        claim = {"_id": f"{code.code}:{telegram_id}", "event_id": str(event_id), "slot": slot}
        try:
            await self._claims.insert_one(claim)
        except DuplicateKeyError:
            held = await self.claim(code.code, telegram_id)
            if held is None or held.slot != slot:  # this slot is not the one the user holds
                ours = {"_id": f"{code.code}#{slot}", "event_id": str(event_id)}
                await self._claims.delete_one(ours)  # given back: never a use for nobody
            if held is None or held.event_id != event_id:  # another redemption of theirs won
                return PromoRefusal.ALREADY_USED
            slot = held.slot  # this very redemption won before, on another worker
        await self.count(code, slot)
        return Grant(slot, code.days, code.months)

    async def count(self, code: PromoCode, slot: int) -> None:
        """Make the code's use count include ``slot`` (it only grows)."""
        if slot + 1 > code.uses:
            await self._codes.update_one({"_id": code.code}, {"$set": {"uses": slot + 1}})

    async def _slot(self, code: PromoCode, event_id: uuid.UUID) -> int | None:
        for slot in range(code.uses, code.max_uses):
            try:
                await self._claims.insert_one(
                    {"_id": f"{code.code}#{slot}", "event_id": str(event_id)}
                )
            except DuplicateKeyError:
                found = await self._claims.find_one({"_id": f"{code.code}#{slot}"})
                if found is not None and found["event_id"] == str(event_id):
                    return slot  # taken by this very redemption before a crash
                continue
            return slot
        return None

    async def decision(self, event_id: uuid.UUID) -> Document | None:
        """The decision stored for a redemption: ``telegram_id``, ``code``, ``days`` when
        granted, else ``reason``."""
        return await self._decisions.find_one({"_id": str(event_id)})

    async def decided(self, event_id: uuid.UUID, document: Document) -> Document:
        """Keep a redemption's decision and return the one that stands: the first stored."""
        try:
            await self._decisions.insert_one({"_id": str(event_id), **document})
        except DuplicateKeyError:
            return await self.decision(event_id) or document
        return document
