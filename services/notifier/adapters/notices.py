"""``notices`` (planned messages), ``notice_outcomes`` (what became of them) and
``notice_schedule`` (how far the scheduler has loaded them).

``notices`` and ``notice_outcomes`` are insert-only: the planner inserts a notice once (a
unique id: planning twice changes nothing) and the instance that claimed it inserts its
outcome. No update ever touches the big collection: on FerretDB an update is a find then
a whole-document write, an insert one write.

Each notice is filed under the minute and the hour (:mod:`keyland.time_buckets`) of the
moment it can first be loaded: its due time, or the moment it was written when that is
later (planned already due, say after the consumer caught up). So a notice is never
filed under a minute that ended before it was written, and the scheduler, which reads
buckets by equality on these indexed keys from its cursor, keeps its cursor behind the
current minute and never misses one (see :mod:`services.notifier.handlers.scheduler`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from keyland.indexes import Owned
from keyland.mongo import Document, insert_new
from keyland.time_buckets import MINUTES, Bucket, hour_key, minute_key
from services.notifier.domain.notices import Kind, Notice

PLANNED, SENT, SKIPPED, FAILED, UNCONFIRMED = "planned", "sent", "skipped", "failed", "unconfirmed"
WAITING = "waiting"
_CURSOR = "cursor"
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


def filed_minute(document: Document) -> datetime:
    """The start of the minute a stored notice is filed under, whichever bucket (minute
    or whole hour) it was read from."""
    return MINUTES.start(document["minute"])


def filed_document(notice: Notice, planned_at: datetime, filed_at: datetime) -> Document:
    """The notice as stored in ``notices``: with the buckets it is read from."""
    loadable = max(notice.due, filed_at)
    return {
        **notice_document(notice, planned_at),
        "minute": minute_key(loadable),
        "hour": hour_key(loadable),
    }


class Notices:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        outcomes: AsyncCollection[Document],
        schedule: AsyncCollection[Document],
    ) -> None:
        self._collection = collection
        self._outcomes = outcomes
        self._schedule = schedule

    def owned(self) -> list[Owned]:
        return [
            Owned(self._collection, (("minute",), ("hour",), ("telegram_id",))),
            Owned(self._outcomes),
            Owned(self._schedule),
        ]

    async def plan(
        self, planned: Sequence[tuple[Notice, datetime]], *, filed_at: datetime | None = None
    ) -> int:
        """Insert each (notice, when it was planned) in one round trip (those stored
        already are left alone); return how many are new. ``filed_at``: when they are
        written (now by default).

        A notice planned twice in ``planned`` is sent once (the first): a trial's
        ``TrialActivated`` and ``SubscriptionExtended`` plan the same period notices, and
        FerretDB answers a duplicate inside one insert by inserting every document again
        on its own, a statement and a rollback each."""
        filed_at = filed_at or datetime.now(UTC)
        documents = [filed_document(notice, at, filed_at) for notice, at in planned]
        stored = await insert_new(self._collection, documents)
        return len({d["_id"] for d in documents}) - len(stored)

    async def filed(self, bucket: Bucket) -> list[tuple[Notice, datetime]]:
        """Notices filed under ``bucket``, whatever became of them (see ``status``), each
        with the start of the minute it is filed under."""
        cursor = self._collection.find({bucket.field: bucket.key})
        return [(notice_of(doc), filed_minute(doc)) async for doc in cursor]

    async def cursor(self) -> datetime | None:
        """The start of the first minute whose notices may not all be settled yet."""
        found = await self._schedule.find_one({"_id": _CURSOR})
        return None if found is None else found["at"]

    async def move_cursor(self, at: datetime) -> None:
        await self._schedule.replace_one({"_id": _CURSOR}, {"at": at}, upsert=True)

    async def finish(self, notice_id: str, status: str, at: datetime, **details: Any) -> None:
        with contextlib.suppress(DuplicateKeyError):  # recorded already (settled twice)
            await self._outcomes.insert_one(
                {"_id": notice_id, "status": status, "finished_at": at, **details}
            )

    async def status(self, notice_id: str) -> str:
        document = await self._outcomes.find_one({"_id": notice_id}, {"status": 1})
        return PLANNED if document is None else str(document["status"])
