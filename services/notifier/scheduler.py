"""Sends due notices: claim, re-check, send, record — once, within seconds of due time.

On start it sends what fell due while it was down (the due query has no lower bound).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from services.notifier.adapters.claims import Claims
from services.notifier.adapters.notices import FAILED, SENT, SKIPPED, UNCONFIRMED, Notices
from services.notifier.adapters.telegram import Outcome, TelegramSender
from services.notifier.adapters.users import Users
from services.notifier.domain.notices import still_relevant
from services.notifier.rendering import buttons, notice_text

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        notices: Notices,
        claims: Claims,
        users: Users,
        sender: TelegramSender,
        claim_lease: timedelta,
        *,
        batch: int = 100,
    ) -> None:
        self._notices = notices
        self._claims = claims
        self._users = users
        self._sender = sender
        self._lease = claim_lease
        self._batch = batch

    async def run_once(self, now: datetime) -> int:
        """Send every notice due by ``now`` that nobody claimed; return how many were sent."""
        sent = 0
        for notice in await self._notices.due(now, self._batch):
            user = await self._users.get(notice.telegram_id)
            skip = still_relevant(notice, user.until, now)
            if skip is not None:
                if await self._claims.claim("notice", notice.id, now):
                    await self._notices.finish(notice.id, SKIPPED, now, reason=skip)
                continue
            if not await self._claims.claim("notice", notice.id, now):
                await self._settle_if_abandoned(notice.id, now)
                continue
            result = await self._sender.send(
                notice.telegram_id,
                notice_text(notice, user.language_code, now),
                buttons(notice.buttons, user.language_code),
            )
            status = {Outcome.SENT: SENT, Outcome.BLOCKED: FAILED, Outcome.FAILED: FAILED}[
                result.outcome
            ]
            await self._notices.finish(
                notice.id, status, now, message_id=result.message_id, error=result.error
            )
            if result.outcome is Outcome.BLOCKED:
                await self._users.mark_blocked(notice.telegram_id, True, now)
            elif result.outcome is Outcome.SENT:
                sent += 1
                lateness = (now - notice.due).total_seconds()
                log.info(
                    "sent %s to %s (%.1fs after due)", notice.kind, notice.telegram_id, lateness
                )
        return sent

    async def _settle_if_abandoned(self, notice_id: str, now: datetime) -> None:
        """Claimed by someone, no outcome: in progress, or its sender died mid-send. After
        the lease it is marked unconfirmed and never sent again (at most once)."""
        claimed_at = await self._claims.claimed_at("notice", notice_id)
        if claimed_at is not None and claimed_at < now - self._lease:
            await self._notices.finish(notice_id, UNCONFIRMED, now)
            log.warning(
                "notice %s was claimed at %s and never finished: unconfirmed", notice_id, claimed_at
            )
