"""The subscription processor's one handler: an event in, state and facts out, once.

Steps for each event, all idempotent by event id:
1. publish whatever the user's outbox still holds (a crash after saving, before Kafka
   acknowledged, left it there);
2. an event already in the user's ledger is done (redelivery, restart, replay);
3. otherwise fold the ledger with the new entry, save state + ledger + the implied facts
   (the outbox) in one single-document write, then publish the facts and clear the outbox.
Facts get ids derived from their cause, so a re-published fact is recognisable downstream.
Where access now ends is filed for the expiry sweep after the save and before the outbox
is cleared: a crash in between leaves the outbox full, and step 1 files it again.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from events import Envelope, Event, derived_event_id, encode
from events.codec import decode
from events.payments import HeldPaymentRefunded, PaymentHeld
from keyland.kafka.producer import EventPublisher
from services.subscription.adapters.expiry_schedule import ExpirySchedule
from services.subscription.adapters.payments import Payments
from services.subscription.adapters.users import Users
from services.subscription.domain.facts import facts_for
from services.subscription.domain.fold import fold
from services.subscription.domain.rules import Rules
from services.subscription.entries import to_entry

log = logging.getLogger(__name__)

PRODUCER = "subscription"


class SubscriptionHandler:
    def __init__(
        self,
        users: Users,
        payments: Payments,
        schedule: ExpirySchedule,
        publisher: EventPublisher,
        rules: Rules,
    ) -> None:
        self._users = users
        self._payments = payments
        self._schedule = schedule
        self._publisher = publisher
        self._rules = rules

    async def __call__(self, envelope: Envelope[Event]) -> None:
        if isinstance(envelope.payload, PaymentHeld):
            # Recorded for admins, never credited: a grant comes back as its own command.
            await self._payments.hold(envelope.payload)
            return
        if isinstance(envelope.payload, HeldPaymentRefunded):
            # Names no user: the held payment is closed, no ledger changes.
            await self._payments.refund_held(envelope.payload)
            return
        mapped = to_entry(envelope)
        if mapped is None:
            return
        telegram_id, entry = mapped
        record = await self._users.load(telegram_id)
        if record.outbox:
            await self._publish(telegram_id, record.outbox, record.until)
        if str(entry.event_id) in record.applied:
            log.info("event %s applied already; skipped", envelope.event_id)
            return
        entries = [*record.entries, entry]
        before = fold(telegram_id, record.entries, self._rules)
        after = fold(telegram_id, entries, self._rules)
        facts, seen = [], Counter[str]()
        for fact in facts_for(entry, before, after):
            # The n-th fact of one type from one cause (a registration applying two held
            # payments) gets its own id; the first keeps the plain derived id.
            nth = seen[fact.event_type]
            seen[fact.event_type] += 1
            fact_id = derived_event_id(envelope.event_id, fact.event_type, str(nth) if nth else "")
            facts.append(
                encode(
                    Envelope.new(
                        fact,
                        producer=PRODUCER,
                        occurred_at=envelope.occurred_at,
                        event_id=fact_id,
                        cause=envelope,
                    )
                )
            )
        await self._payments.record(telegram_id, entry)
        await self._users.save(after, entries, facts, at=envelope.occurred_at)
        moved = after.registered and after.until is not None and after.until != before.until
        await self._publish(telegram_id, facts, after.until if moved else None)

    async def _publish(
        self, telegram_id: int, outbox: list[bytes], lapses_at: datetime | None
    ) -> None:
        if lapses_at is not None:
            await self._schedule.file(telegram_id, lapses_at)
        for raw in outbox:
            await self._publisher.publish(decode(raw))
        await self._users.clear_outbox(telegram_id)
