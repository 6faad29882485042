"""Folding ``TrafficCounted`` into each user's monthly totals.

Per user and batch: one read and, when a count was new, one write, both by ``_id``. No
fact is published, so a rebuild folds the counts the same way as the live worker.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from events.traffic import TrafficCounted
from keyland.kafka.batches import side_by_side
from services.subscription.adapters.traffic import TrafficBook
from services.subscription.domain.traffic import count


class TrafficTally:
    def __init__(self, book: TrafficBook) -> None:
        self._book = book

    async def handle(self, counts: Sequence[TrafficCounted]) -> None:
        per_user: dict[int, list[TrafficCounted]] = defaultdict(list)
        for counted in counts:
            per_user[counted.telegram_id].append(counted)
        await side_by_side(per_user.items(), lambda item: self._fold(*item))

    async def _fold(self, telegram_id: int, counts: list[TrafficCounted]) -> None:
        totals = before = await self._book.load(telegram_id)
        for counted in counts:
            totals = count(totals, counted) or totals
        if totals is not before:
            await self._book.save(totals)
