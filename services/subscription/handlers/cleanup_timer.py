"""Whether this worker runs the cleanup on this tick of its timer.

The timer ticks every few minutes; a tick reads the last finished run by ``_id`` and does
nothing more unless a run is due (:func:`.domain.cleanup_turns.is_due`), so the cleanup
runs once per interval however often workers restart. A due run is claimed first
(:class:`.adapters.cleanup_runs.CleanupRuns`): of workers racing for it, one runs it.
A claim whose worker died before finishing is taken over after the lease, under the next
attempt number (again one winner).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.subscription.adapters.cleanup_runs import CleanupRuns
from services.subscription.domain.cleanup_turns import abandoned, is_due


@dataclass(frozen=True)
class Claim:
    """This worker's claim on the run after the one finished at ``after``."""

    after: datetime | None
    attempt: int


class CleanupTimer:
    def __init__(self, runs: CleanupRuns, interval: timedelta, lease: timedelta) -> None:
        self._runs = runs
        self._interval = interval
        self._lease = lease

    async def claim(self, now: datetime) -> Claim | None:
        """This worker's claim if a run is due at ``now`` and nobody else runs it."""
        last = await self._runs.last()
        if not is_due(last, now, self._interval):
            return None
        attempt = 0
        while not await self._runs.claim(last, attempt, now):
            claimed_at = await self._runs.claimed_at(last, attempt)
            if claimed_at is None or not abandoned(claimed_at, now, self._lease):
                return None
            attempt += 1
        if await self._runs.last() != last:
            return None  # read before another worker finished this very run
        return Claim(last, attempt)

    async def finish(self, at: datetime) -> None:
        """Record that the claimed run finished at ``at``: the next is due an interval on."""
        await self._runs.finish(at)
