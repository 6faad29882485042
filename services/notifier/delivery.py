"""One claimed notice to Telegram, and what a failure means for its user.

Shared by the scheduler (first sends) and :mod:`.redelivery` (sends on the user's next
visit). A user who blocked the bot (or deleted their account) is recorded, so later
notices and broadcasts skip them; any other failure is logged with the user, the notice
and the reason, and counted in ``keyland_notice_send_failures`` (alerted on in
``infra/prometheus/alerts.yml`` when retryable ones keep coming).
"""

from __future__ import annotations

import logging
from datetime import datetime

from services.notifier.adapters import metrics
from services.notifier.adapters.telegram import Outcome, Result, TelegramSender
from services.notifier.adapters.users import Recipient, Users
from services.notifier.domain.notices import Notice, still_relevant
from services.notifier.rendering import buttons, notice_text

log = logging.getLogger(__name__)


def reason_to_skip(notice: Notice, user: Recipient, now: datetime) -> str | None:
    """None when ``notice`` should go to ``user`` now; otherwise why not."""
    if user.blocked:
        return "the user blocked the bot"
    return still_relevant(notice, user.until, now)


class NoticeSender:
    def __init__(self, sender: TelegramSender, users: Users) -> None:
        self._sender = sender
        self._users = users

    async def send(self, notice: Notice, recipient: Recipient, now: datetime) -> Result:
        language = recipient.language_code
        result = await self._sender.send(
            notice.telegram_id,
            notice_text(notice, language, now),
            buttons(notice.buttons, language),
        )
        if result.outcome is Outcome.SENT:
            return result
        metrics.NOTICE_SEND_FAILURES.labels(notice.kind, str(result.reason)).inc()
        details = {
            "telegram_id": notice.telegram_id,
            "notice_id": notice.id,
            "notice_kind": str(notice.kind),
            "reason": str(result.reason),
        }
        if result.outcome is Outcome.BLOCKED:
            await self._users.mark_blocked(notice.telegram_id, True, now)
            log.info(
                "user %s blocked the bot (%s): notice %s not sent, later ones skipped",
                notice.telegram_id,
                result.reason,
                notice.id,
                extra=details,
            )
        else:
            log.warning(
                "notice %s to user %s not delivered (%s%s): %s",
                notice.id,
                notice.telegram_id,
                result.reason,
                ", may pass" if result.retryable else "",
                result.error,
                extra=details,
            )
        return result
