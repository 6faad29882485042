"""The ``notices`` collection: planned messages and what became of them.

The planner inserts (unique id: planning twice changes nothing); only the instance that
claimed a notice writes its outcome.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from keyland.mongo import Document
from services.notifier.domain.notices import Kind, Notice

PLANNED, SENT, SKIPPED, FAILED, UNCONFIRMED = "planned", "sent", "skipped", "failed", "unconfirmed"


def _document(notice: Notice, planned_at: datetime) -> Document:
    return {
        "_id": notice.id,
        "telegram_id": notice.telegram_id,
        "kind": str(notice.kind),
        "due": notice.due,
        "period_until": notice.period_until,
        "values": notice.values,
        # FerretDB stores no nested arrays: each button is a small document.
        "buttons": [{"kind": kind, "value": value} for kind, value in notice.buttons],
        "status": PLANNED,
        "planned_at": planned_at,
    }


def _notice(document: Document) -> Notice:
    return Notice(
        id=document["_id"],
        telegram_id=document["telegram_id"],
        kind=Kind(document["kind"]),
        due=document["due"],
        period_until=document.get("period_until"),
        values=document.get("values") or {},
        buttons=tuple((str(b["kind"]), str(b["value"])) for b in document.get("buttons") or []),
    )


class Notices:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def create_indexes(self) -> None:
        await self._collection.create_index([("status", ASCENDING), ("due", ASCENDING)])
        await self._collection.create_index([("telegram_id", ASCENDING)])

    async def plan(self, notices: list[Notice], planned_at: datetime) -> int:
        created = 0
        for notice in notices:
            with contextlib.suppress(DuplicateKeyError):
                await self._collection.insert_one(_document(notice, planned_at))
                created += 1
        return created

    async def due(self, now: datetime, limit: int) -> list[Notice]:
        cursor = self._collection.find({"status": PLANNED, "due": {"$lte": now}}).sort(
            "due", ASCENDING
        )
        return [_notice(doc) async for doc in cursor.limit(limit)]

    async def finish(self, notice_id: str, status: str, at: datetime, **details: Any) -> None:
        await self._collection.update_one(
            {"_id": notice_id}, {"$set": {"status": status, "finished_at": at, **details}}
        )

    async def status(self, notice_id: str) -> str | None:
        document = await self._collection.find_one({"_id": notice_id}, {"status": 1})
        return None if document is None else str(document["status"])
