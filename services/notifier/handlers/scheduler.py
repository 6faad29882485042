"""Sends due notices: claim, re-check, send, record — once, within seconds of due time.

The scheduler keeps the notices due within the next minutes in memory, filled every
``refresh_every`` (its own task, beside the send loop, which never waits for it) and by
the consumer as it plans new ones; the send loop works from memory, so lateness does not
grow with the number of notices planned for later.

The load reads the minute and hour buckets notices are filed under
(:mod:`..adapters.notices`), each an equality lookup on an indexed key (a range over
``due`` would read the whole collection on FerretDB), from a durable cursor up to the
minute ``lookahead`` ahead. The cursor is the start of the first minute that may still
hold a notice without an outcome: it stays at the minute of the earliest notice held in
memory or being sent (the minute it is filed under, even when read with its whole hour),
and a minute behind the current one (a notice is never filed under a minute that ended
before it was written; the spare minute covers clocks a little apart between instances),
so a restart reads again every notice that may not be settled, and nothing else. A first start reaches back ``catch_up`` (in whole hours, then minutes). Notices
read again that are settled already are remembered until the cursor passes them, so each
costs one outcome lookup per instance.

A user who blocked the bot is skipped without a send. A notice the user must not miss
(:data:`~services.notifier.domain.notices.KEPT_FOR_NEXT_VISIT`) that failed for a reason
that may pass is recorded *waiting* and kept in ``pending_notices`` for the user's next
visit to the bot (:mod:`services.notifier.handlers.redelivery`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from keyland.time_buckets import MINUTE, buckets_to_sweep, floor_minute
from services.notifier.adapters import metrics
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
from services.notifier.domain.notices import KEPT_FOR_NEXT_VISIT, Notice
from services.notifier.domain.schedule import next_cursor
from services.notifier.handlers.delivery import NoticeSender, reason_to_skip

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
        self._upcoming: dict[str, Notice] = {}
        # Every notice held (upcoming or being sent) -> no later than the minute it is
        # filed under (its own minute, not the start of an hour read whole, which would
        # hold the cursor up to an hour back).
        self._held: dict[str, datetime] = {}
        # Settled notices their buckets may still hold -> a moment after they were filed.
        self._settled: dict[str, datetime] = {}
        self._cursor: datetime | None = None

    def offer(self, notices: list[Notice]) -> None:
        """Notices just planned: those due within the lookahead join the in-memory set."""
        now = datetime.now(UTC)
        for notice in notices:
            if notice.due <= now + self._lookahead and notice.id not in self._settled:
                self._upcoming[notice.id] = notice
                # Written a moment ago: filed under this minute, or the previous one.
                self._held.setdefault(notice.id, max(notice.due, now - MINUTE))

    @property
    def refresh_every(self) -> timedelta:
        return self._refresh_every

    async def refresh(self, now: datetime) -> None:
        """Load the notices filed from the cursor to ``lookahead`` ahead that have no
        outcome yet, then move the cursor as far as is safe."""
        if self._cursor is None:
            self._cursor = await self._notices.cursor() or floor_minute(now - self._catch_up)
        for bucket in buckets_to_sweep(self._cursor, now + self._lookahead):
            for notice, minute in await self._notices.filed(bucket):
                if notice.id in self._held or notice.id in self._settled:
                    continue
                if await self._notices.status(notice.id) == PLANNED:
                    self._upcoming[notice.id] = notice
                    self._held.setdefault(notice.id, minute)
                else:
                    self._settled[notice.id] = minute + MINUTE
        await self._move_cursor(now)

    async def _move_cursor(self, now: datetime) -> None:
        assert self._cursor is not None
        cursor = next_cursor(self._cursor, now, self._held.values())
        if cursor == self._cursor:
            return
        await self._notices.move_cursor(cursor)
        self._cursor = cursor
        self._settled = {id_: at for id_, at in self._settled.items() if at >= cursor}

    async def run_once(self, now: datetime) -> int:
        """Send every notice in memory due by ``now`` that nobody claimed; return how many."""
        due = sorted((n for n in self._upcoming.values() if n.due <= now), key=lambda n: n.due)
        sent = 0
        for notice in due:
            if self._upcoming.pop(notice.id, None) is None:
                continue  # no longer in memory: nothing to send
            try:
                sent += await self._send(notice, now)
            except BaseException:
                self._upcoming[notice.id] = notice  # claimed or not: looked at again
                raise
            if notice.id not in self._upcoming:
                self._held.pop(notice.id, None)
        return sent

    async def _send(self, notice: Notice, now: datetime) -> int:
        """Skip, send, or leave ``notice`` for later (claimed by someone still at it);
        return 1 when it reached the user."""
        user = await self._users.get(notice.telegram_id)
        skip = reason_to_skip(notice, user, now)
        if skip is not None:
            if await self._claims.claim("notice", notice.id, now):
                await self._notices.finish(notice.id, SKIPPED, now, reason=skip)
                metrics.NOTICES.labels(notice.kind, "skipped").inc()
            self._settled[notice.id] = now
            return 0
        if not await self._claims.claim("notice", notice.id, now):
            if await self._settle_if_abandoned(notice.id, now):
                self._settled[notice.id] = now
            else:
                self._upcoming[notice.id] = notice  # look again until it has an outcome
            return 0
        result = await self._sender.send(notice, user, now)
        status = SENT if result.outcome is Outcome.SENT else FAILED
        if result.retryable and notice.kind in KEPT_FOR_NEXT_VISIT:
            # Kept before the outcome is written: a crash in between leaves it kept.
            await self._pending.keep(notice, str(result.reason), now)
            status = WAITING
        await self._notices.finish(notice.id, status, now, **result.details())
        self._settled[notice.id] = now
        metrics.NOTICES.labels(notice.kind, str(result.outcome)).inc()
        if result.outcome is not Outcome.SENT:
            return 0
        lateness = (now - notice.due).total_seconds()
        metrics.NOTICE_LATENESS_SECONDS.labels(notice.kind).observe(max(lateness, 0.0))
        log.info("sent %s to %s (%.1fs after due)", notice.kind, notice.telegram_id, lateness)
        return 1

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
