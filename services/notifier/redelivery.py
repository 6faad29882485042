"""Notices kept for a user's next visit, delivered when they talk to the bot: once.

The bot publishes ``UserStarted`` on /start and ``UserSeen`` when a user writes or
presses a button (at most once a minute per user); on either, the notifier's consumer
(one per user's partition) unblocks the user if a block was recorded before then, and
sends each notice ``pending_notices`` keeps for them (see :mod:`.adapters.pending`).

Each attempt is claimed before its send, as a unique-key insert on
``redelivery:<notice id>:<attempt>``, so a redelivered event or a second visit sends
nothing twice; its outcome is recorded in ``notice_outcomes`` as
``<notice id>:again:<attempt>`` (the notice's own outcome stays *waiting*). An attempt
that fails for a reason that may pass keeps the notice for the next visit, as attempt
``n + 1``; one whose sender died mid-send is *unconfirmed* after the claim lease and
dropped (at most once, as for first sends). A notice no longer relevant (the user
renewed since their access ended) is skipped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from services.notifier.adapters import metrics
from services.notifier.adapters.claims import Claims
from services.notifier.adapters.notices import FAILED, PLANNED, SENT, SKIPPED, UNCONFIRMED, Notices
from services.notifier.adapters.pending import Pending, PendingNotices
from services.notifier.adapters.telegram import Outcome
from services.notifier.adapters.users import Users
from services.notifier.delivery import NoticeSender, reason_to_skip

log = logging.getLogger(__name__)


def _attempt_id(kept: Pending) -> str:
    return f"{kept.notice.id}:again:{kept.attempt}"


class Redelivery:
    def __init__(
        self,
        pending: PendingNotices,
        claims: Claims,
        users: Users,
        notices: Notices,
        sender: NoticeSender,
        *,
        claim_lease: timedelta,
    ) -> None:
        self._pending = pending
        self._claims = claims
        self._users = users
        self._notices = notices
        self._sender = sender
        self._lease = claim_lease

    async def user_seen(self, telegram_id: int, seen_at: datetime, now: datetime) -> int:
        """``telegram_id`` talked to the bot at ``seen_at``: unblock them and send what
        was kept for them. Returns how many notices reached them."""
        if await self._users.seen(telegram_id, seen_at):
            log.info("user %s talks to the bot again: no longer recorded as blocked", telegram_id)
        delivered = 0
        for kept in await self._pending.of_user(telegram_id):
            delivered += await self._redeliver(kept, now)
        return delivered

    async def _redeliver(self, kept: Pending, now: datetime) -> bool:
        notice = kept.notice
        if not await self._claims.claim("redelivery", f"{notice.id}:{kept.attempt}", now):
            await self._settle_if_abandoned(kept, now)
            return False
        user = await self._users.get(notice.telegram_id)
        skip = reason_to_skip(notice, user, now)
        if skip is not None:
            await self._settle(kept, SKIPPED, now, reason=skip)
            metrics.NOTICES.labels(notice.kind, "skipped").inc()
            return False
        result = await self._sender.send(notice, user, now)
        if result.retryable:  # the next attempt first: an outcome means "settled" below
            await self._pending.try_again(notice.id, kept.attempt + 1, str(result.reason))
            await self._notices.finish(_attempt_id(kept), FAILED, now, **result.details())
            return False
        sent = result.outcome is Outcome.SENT
        await self._settle(kept, SENT if sent else FAILED, now, **result.details())
        if sent:
            metrics.NOTICES.labels(notice.kind, "redelivered").inc()
            log.info(
                "redelivered %s %s to %s (attempt %s)",
                notice.kind,
                notice.id,
                notice.telegram_id,
                kept.attempt,
            )
        return sent

    async def _settle(self, kept: Pending, status: str, now: datetime, **details: Any) -> None:
        """Record the attempt's outcome, then stop keeping the notice (a crash in between
        leaves an outcome that :meth:`_settle_if_abandoned` finds)."""
        await self._notices.finish(_attempt_id(kept), status, now, **details)
        await self._pending.settled(kept.notice.id)

    async def _settle_if_abandoned(self, kept: Pending, now: datetime) -> None:
        """Someone claimed this attempt: it finished (drop the copy still kept), is in
        progress, or its sender died mid-send (after the lease: unconfirmed, dropped)."""
        if await self._notices.status(_attempt_id(kept)) != PLANNED:
            await self._pending.settled(kept.notice.id)
            return
        claim = f"{kept.notice.id}:{kept.attempt}"
        claimed_at = await self._claims.claimed_at("redelivery", claim)
        if claimed_at is not None and claimed_at < now - self._lease:
            await self._settle(kept, UNCONFIRMED, now)
            log.warning("redelivery %s was claimed at %s and never finished", claim, claimed_at)
