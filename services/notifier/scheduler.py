"""Sends due notices: claim, re-check, send, record — once, within seconds of due time.

The scheduler keeps the notices due within the next minutes in memory, filled by a
database query every ``refresh_every`` (its own task) and by the consumer as it plans new
ones; the send loop works from memory, so lateness does not grow with the number of notices planned
for later (FerretDB answers the due query, a range, by reading the whole collection).
On start it sends what fell due while it was down (the due query has no lower bound).

A user who blocked the bot is skipped without a send. A notice the user must not miss
(:data:`~services.notifier.domain.notices.KEPT_FOR_NEXT_VISIT`) that failed for a reason
that may pass is recorded *waiting* and kept in ``pending_notices`` for the user's next
visit to the bot (:mod:`services.notifier.redelivery`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from keyland.observability import metrics
from services.notifier.adapters.claims import Claims
from services.notifier.adapters.notices import (
    FAILED,
    PLANNED,
    SENT,
    SKIPPED,
    UNCONFIRMED,
    WAITING,
    Notices,
)
from services.notifier.adapters.pending import PendingNotices
from services.notifier.adapters.telegram import Outcome
from services.notifier.adapters.users import Users
from services.notifier.delivery import NoticeSender, reason_to_skip
from services.notifier.domain.notices import KEPT_FOR_NEXT_VISIT, Notice

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        notices: Notices,
        claims: Claims,
        users: Users,
        sender: NoticeSender,
        claim_lease: timedelta,
        *,
        pending: PendingNotices,
        lookahead: timedelta = timedelta(seconds=90),
        refresh_every: timedelta = timedelta(seconds=30),
        catch_up: timedelta = timedelta(days=7),
        batch: int = 5000,
    ) -> None:
        self._notices = notices
        self._claims = claims
        self._users = users
        self._sender = sender
        self._pending = pending
        self._lease = claim_lease
        self._lookahead = lookahead
        self._refresh_every = refresh_every
        self._catch_up = catch_up
        self._batch = batch
        self._upcoming: dict[str, Notice] = {}
        self._refreshed_at: datetime | None = None

    def offer(self, notices: list[Notice]) -> None:
        """Notices just planned: those due within the lookahead join the in-memory set."""
        horizon = datetime.now(UTC) + self._lookahead
        self._upcoming.update({n.id: n for n in notices if n.due <= horizon})

    @property
    def refresh_every(self) -> timedelta:
        return self._refresh_every

    async def refresh(self, now: datetime) -> None:
        """Load the notices due soon from the database (runs beside the send loop, which
        never waits for this scan). The first look reaches back ``catch_up``: what fell
        due while the notifier was down; later ones overlap the previous window."""
        since = now - self._catch_up if self._refreshed_at is None else self._refreshed_at
        for notice in await self._notices.due(since, now + self._lookahead, self._batch):
            if notice.id not in self._upcoming and await self._notices.status(notice.id) == PLANNED:
                self._upcoming[notice.id] = notice
        self._refreshed_at = now

    async def run_once(self, now: datetime) -> int:
        """Send every notice in memory due by ``now`` that nobody claimed; return how many."""
        due = sorted((n for n in self._upcoming.values() if n.due <= now), key=lambda n: n.due)
        sent = 0
        for notice in due:
            self._upcoming.pop(notice.id, None)
            user = await self._users.get(notice.telegram_id)
            skip = reason_to_skip(notice, user, now)
            if skip is not None:
                if await self._claims.claim("notice", notice.id, now):
                    await self._notices.finish(notice.id, SKIPPED, now, reason=skip)
                    metrics.NOTICES.labels(notice.kind, "skipped").inc()
                continue
            if not await self._claims.claim("notice", notice.id, now):
                if not await self._settle_if_abandoned(notice.id, now):
                    self._upcoming[notice.id] = notice  # look again until it has an outcome
                continue
            result = await self._sender.send(notice, user, now)
            status = SENT if result.outcome is Outcome.SENT else FAILED
            if result.retryable and notice.kind in KEPT_FOR_NEXT_VISIT:
                # Kept before the outcome is written: a crash in between leaves it kept.
                await self._pending.keep(notice, str(result.reason), now)
                status = WAITING
            await self._notices.finish(notice.id, status, now, **result.details())
            metrics.NOTICES.labels(notice.kind, str(result.outcome)).inc()
            if result.outcome is Outcome.SENT:
                sent += 1
                lateness = (now - notice.due).total_seconds()
                metrics.NOTICE_LATENESS_SECONDS.labels(notice.kind).observe(max(lateness, 0.0))
                log.info(
                    "sent %s to %s (%.1fs after due)", notice.kind, notice.telegram_id, lateness
                )
        return sent

    async def _settle_if_abandoned(self, notice_id: str, now: datetime) -> bool:
        """Claimed by someone: done (it has an outcome), in progress, or its sender died
        mid-send. After the lease it is marked unconfirmed and never sent again (at most
        once). True when nothing remains to watch."""
        if await self._notices.status(notice_id) != PLANNED:
            return True
        claimed_at = await self._claims.claimed_at("notice", notice_id)
        if claimed_at is None or claimed_at >= now - self._lease:
            return False
        await self._notices.finish(notice_id, UNCONFIRMED, now)
        log.warning(
            "notice %s was claimed at %s and never finished: unconfirmed", notice_id, claimed_at
        )
        return True
