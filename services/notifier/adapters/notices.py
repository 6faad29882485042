"""``notices`` (planned messages) and ``notice_outcomes`` (what became of them).

Both are insert-only: the planner inserts a notice once (a unique id: planning twice
changes nothing) and the instance that claimed it inserts its outcome. No update ever
touches the big collection: on FerretDB an update is a find then a whole-document write,
an insert one write.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from keyland.indexes import Owned
from keyland.mongo import Document
from services.notifier.domain.notices import Kind, Notice

PLANNED, SENT, SKIPPED, FAILED, UNCONFIRMED = "planned", "sent", "skipped", "failed", "unconfirmed"
WAITING = "waiting"
"""Not delivered for a reason that may pass; kept for the user's next visit (see
:mod:`services.notifier.adapters.pending`)."""


def notice_document(notice: Notice, planned_at: datetime) -> Document:
    return {
        "_id": notice.id,
        "telegram_id": notice.telegram_id,
        "kind": str(notice.kind),
        "due": notice.due,
        "period_until": notice.period_until,
        "values": notice.values,
        # FerretDB stores no nested arrays: each button is a small document.
        "buttons": [{"kind": kind, "value": value} for kind, value in notice.buttons],
        "planned_at": planned_at,
    }


def notice_of(document: Document) -> Notice:
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
    def __init__(
        self, collection: AsyncCollection[Document], outcomes: AsyncCollection[Document]
    ) -> None:
        self._collection = collection
        self._outcomes = outcomes

    def owned(self) -> list[Owned]:
        return [Owned(self._collection, (("due",), ("telegram_id",))), Owned(self._outcomes)]

    async def plan(self, notices: list[Notice], planned_at: datetime) -> int:
        created = 0
        for notice in notices:
            with contextlib.suppress(DuplicateKeyError):
                await self._collection.insert_one(notice_document(notice, planned_at))
                created += 1
        return created

    async def due(self, since: datetime, until: datetime, limit: int) -> list[Notice]:
        """Notices due in [``since``, ``until``], whatever became of them (see ``status``)."""
        cursor = self._collection.find({"due": {"$gte": since, "$lte": until}}).sort(
            "due", ASCENDING
        )
        return [notice_of(doc) async for doc in cursor.limit(limit)]

    async def finish(self, notice_id: str, status: str, at: datetime, **details: Any) -> None:
        with contextlib.suppress(DuplicateKeyError):  # recorded already (settled twice)
            await self._outcomes.insert_one(
                {"_id": notice_id, "status": status, "finished_at": at, **details}
            )

    async def status(self, notice_id: str) -> str:
        document = await self._outcomes.find_one({"_id": notice_id}, {"status": 1})
        return PLANNED if document is None else str(document["status"])
