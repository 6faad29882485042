"""The subscription processor's one handler: events in, state and facts out, once.

A batch of records is split by user; users are handled side by side, each user's events
in order. Steps for each user, all idempotent by event id:
1. publish whatever the user's outbox still holds (a crash after saving, before Kafka
   acknowledged, left it there);
2. skip each event already in the user's ledger (redelivery, restart, replay);
3. fold the ledger with each new entry in turn, keeping it bounded (see
   :mod:`.domain.compaction`: an entry it dropped can only come back as a no-op), then
   save state + ledger + all the implied facts (the outbox) in one single-document
   write, publish the facts in order and clear the outbox.
Facts get ids derived from their cause, so a re-published fact is recognisable downstream.
Where access now ends is filed for the expiry sweep after the save and before the outbox
is cleared: a crash in between leaves the outbox full, and step 1 files it again.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime

from events import Envelope, Event, derived_event_id, encode
from events.codec import decode
from events.payments import PaymentHeld
from keyland.kafka.batches import side_by_side
from keyland.kafka.producer import EventPublisher
from services.subscription.adapters.expiry_schedule import ExpirySchedule
from services.subscription.adapters.payments import Payments
from services.subscription.adapters.users import Users
from services.subscription.domain.compaction import compact
from services.subscription.domain.facts import facts_for
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from services.subscription.domain.rules import Rules
from services.subscription.domain.state import Subscription
from services.subscription.entries import to_entry

log = logging.getLogger(__name__)

PRODUCER = "subscription"

Arrival = tuple[Envelope[Event], Entry]


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
        await self.handle_batch([envelope])

    async def handle_batch(self, envelopes: Sequence[Envelope[Event]]) -> None:
        per_user: dict[int, list[Arrival]] = defaultdict(list)
        for envelope in envelopes:
            if isinstance(envelope.payload, PaymentHeld):
                # Recorded for admins, never credited: a grant comes back as its own command.
                await self._payments.hold(envelope.payload)
                continue
            mapped = to_entry(envelope)
            if mapped is not None:
                per_user[mapped[0]].append((envelope, mapped[1]))
        await side_by_side(per_user, self._user)

    async def _user(self, telegram_id: int, arrivals: list[Arrival]) -> None:
        record = await self._users.load(telegram_id)
        if record.outbox:
            await self._publish(telegram_id, record.outbox, record.until)
        entries, applied = record.entries, record.applied
        first = state = fold(telegram_id, entries, self._rules)
        facts: list[bytes] = []
        for envelope, entry in arrivals:
            if str(entry.event_id) in applied:
                log.info("event %s applied already; skipped", envelope.event_id)
                continue
            grown = [*entries, entry]
            after = fold(telegram_id, grown, self._rules)
            facts += self._facts(envelope, entry, state, after)
            await self._payments.record(telegram_id, entry)
            entries, state = compact(grown, after.outcomes), after
            applied.add(str(entry.event_id))
        if state is first:
            return
        await self._users.save(state, entries, facts, at=arrivals[-1][0].occurred_at)
        moved = state.registered and state.until is not None and state.until != first.until
        await self._publish(telegram_id, facts, state.until if moved else None)

    @staticmethod
    def _facts(
        cause: Envelope[Event], entry: Entry, before: Subscription, after: Subscription
    ) -> list[bytes]:
        facts, seen = [], Counter[str]()
        for fact in facts_for(entry, before, after):
            # The n-th fact of one type from one cause (a registration applying two held
            # payments) gets its own id; the first keeps the plain derived id.
            nth = seen[fact.event_type]
            seen[fact.event_type] += 1
            fact_id = derived_event_id(cause.event_id, fact.event_type, str(nth) if nth else "")
            envelope = Envelope.new(
                fact,
                producer=PRODUCER,
                occurred_at=cause.occurred_at,
                event_id=fact_id,
                cause=cause,
            )
            facts.append(encode(envelope))
        return facts

    async def _publish(
        self, telegram_id: int, outbox: list[bytes], lapses_at: datetime | None
    ) -> None:
        if lapses_at is not None:
            await self._schedule.file(telegram_id, lapses_at)
        if outbox:  # saved empty otherwise: nothing to clear
            await self._publisher.publish_many([decode(raw) for raw in outbox])
            await self._users.clear_outbox(telegram_id)
