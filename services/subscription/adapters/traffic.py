"""``traffic``: each user's monthly traffic totals, one document per user by ``_id``.

Written only by the worker that owns the user's partition (one writer per document), as
one replacement of the whole small document; read by the read API, by ``_id``.
"""

from __future__ import annotations

from datetime import UTC

from pymongo.asynchronous.collection import AsyncCollection

from keyland.indexes import Owned
from keyland.mongo import Document, user_document_id
from services.subscription.domain.traffic import MonthTraffic, TrafficTotals


class TrafficBook:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    def owned(self) -> list[Owned]:
        return [Owned(self._collection)]

    async def load(self, telegram_id: int) -> TrafficTotals:
        found = await self._collection.find_one({"_id": user_document_id(telegram_id)})
        return TrafficTotals(telegram_id) if found is None else _totals(found)

    async def save(self, totals: TrafficTotals) -> None:
        document: Document = {
            "telegram_id": totals.telegram_id,
            "months": [
                {"month": m.month, "uplink": m.uplink, "downlink": m.downlink}
                for m in totals.months
            ],
            "last_windows": [
                {"node": node, "start": start} for node, start in totals.last_windows.items()
            ],
        }
        await self._collection.replace_one(
            {"_id": user_document_id(totals.telegram_id)}, document, upsert=True
        )


def _totals(found: Document) -> TrafficTotals:
    return TrafficTotals(
        telegram_id=int(found["telegram_id"]),
        months=tuple(
            MonthTraffic(str(m["month"]), int(m["uplink"]), int(m["downlink"]))
            for m in found.get("months", [])
        ),
        # Node addresses hold dots, which field names must not: a list, not a mapping.
        last_windows={
            str(w["node"]): w["start"].replace(tzinfo=UTC) for w in found.get("last_windows", [])
        },
    )
