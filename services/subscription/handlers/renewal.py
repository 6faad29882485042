"""Automatic renewal: finding charges due, and having the payments ingest make them.

Where a user's next renewal charge is due (:mod:`..domain.renewal`) is filed in
``renewal_due`` by the subscription handler whenever it moves, like a lapse in
``expiry_due``. The sweep reads it bucket by bucket and, for each entry still current
in the user's document, publishes ``RenewalDue`` under an id derived from (user, access
end, attempt), at the moment it was due. It does not remember what it published: an
entry is forgotten once swept, and a crash before that publishes the same event again,
which changes nothing downstream.

The agent that owns the user reads ``RenewalDue`` back and, if the charge is still the
one due (not renewed, turned off or purged since), asks the payments ingest to charge
the saved method. The ingest keys the charge by the same three, so a redelivered,
replayed or repeated ``RenewalDue`` charges once; the payment then comes back as a
``PaymentSucceeded`` (access extended, the next end's charge filed) or a
``RenewalDeclined`` (the retry filed after its backoff, until the attempts run out).
"""

from __future__ import annotations

import logging
from datetime import datetime

from events import Envelope, external_event_id
from events.subscriptions import RenewalDue
from services.subscription.adapters.payments_api import PaymentsApi
from services.subscription.handlers.expiry import ScheduleSweeper

log = logging.getLogger(__name__)

PRODUCER = "subscription"


def renewal_event_id(telegram_id: int, period_end: str, attempt: int) -> str:
    return f"{telegram_id}:{period_end}:{attempt}"


class RenewalSweeper(ScheduleSweeper):
    async def _announce(self, telegram_id: int, at: datetime, now: datetime) -> int:
        charge = await self._users.renewal(telegram_id)
        if charge is None or charge["at"] != at:
            return 0  # renewed, turned off, declined again or purged since it was filed
        due = RenewalDue(
            telegram_id=telegram_id,
            period_end=datetime.fromisoformat(charge["period_end"]),
            attempt=charge["attempt"],
            method_id=charge["method_id"],
            plan=charge["plan"],
        )
        key = renewal_event_id(telegram_id, charge["period_end"], due.attempt)
        await self._publisher.publish(
            Envelope.new(
                due,
                producer=PRODUCER,
                occurred_at=at,
                event_id=external_event_id("renewal", key, due.event_type),
            )
        )
        return 1


def still_due(charge: dict[str, object] | None, due: RenewalDue) -> bool:
    """Whether ``due`` is the charge the user's document still has due."""
    return charge is not None and (
        charge.get("period_end"),
        charge.get("attempt"),
        charge.get("method_id"),
    ) == (due.period_end.isoformat(), due.attempt, due.method_id)


async def charge(payments: PaymentsApi | None, due: RenewalDue) -> None:
    """Have the payments ingest charge the saved method for ``due`` (once, whatever the
    number of calls: it keys the charge by user, access end and attempt)."""
    if payments is None:
        log.warning("renewal of %s not charged: no payments token configured", due.telegram_id)
        return
    await payments.renew(due)
