"""The subscription processor's one handler: events in, state and facts out, once.

A batch of records is split by user; users are handled side by side, each user's events
in order. Steps for each user, all idempotent by event id:
1. publish whatever the user's outbox still holds (a crash after saving, before Kafka
   acknowledged, left it there);
2. skip each event already in the user's ledger (redelivery, restart, replay);
3. fold the ledger with each new entry in turn, keeping it bounded (see
   :mod:`..domain.compaction`: an entry it dropped can only come back as a no-op), and
   count the user's revision (see :mod:`..domain.revision`), stamped on the facts;
4. move the figures' shards by the users whose share changed (one read per shard and
   batch, and one write when it moved, before any user's document: a user's share may
   have reached the shard before a crash, see :mod:`..domain.figures`);
5. save state + ledger + share + all the implied facts (the outbox) in one
   single-document write, publish the facts in order and clear the outbox.
Facts get ids derived from their cause (see :func:`.domain.facts.stamped`), so a
re-published fact is recognisable downstream.

A rebuild (``rebuild=True``) keeps no fact and publishes none. A fact is decided from
the ledger the processor holds when its cause arrives, and a rebuild reads its input
topics in another interleaving than the original run did (all of ``payments`` before
``bot.actions``, say): a payment then finds its user unregistered and is held, and the
/start after it applies it, so the rebuild decides facts the original never published,
under ids derived from other causes. On the live ``subscriptions`` topic, running
workers would act on them (a key enabled from a half-read ledger, a notice sent twice).
The facts that did happen are on that topic already, and the rebuild reads the ones it
needs from there (``ReferralBonusEarned``, ``SubscriptionExpired``) under their original
ids, so its ledgers, and so its state, end the same as the original's. Deriving facts in
ledger time instead would still publish decisions from a partial ledger; this is why the
rebuild publishes nothing rather than publishing "the same" facts.
Where access now ends (for the expiry sweep), when the user becomes a cleanup
candidate (for the weekly cleanup) and when their saved method is next charged (for
the renewal sweep) are filed after the save and before the outbox is cleared: a crash
in between leaves the outbox full, and step 1 files them again. A new renewal moment is
also filed before the save, as a method saved or a renewal declined makes no fact that
would leave the outbox full; the renewal sweep acts on an entry only once the user's
document has it due, and the filing after the save files it again if a sweep forgot it
in between.

``RenewalDue`` (the renewal sweep's, read back by the worker that owns the user) is no
ledger entry: once the batch is saved, each one still due is charged through the
payments ingest (see :mod:`.renewal`).

Promo codes' records are keyed by the code and go to the promo desk (see
:mod:`.promos`). Traffic counts go to the traffic tally (see :mod:`.traffic`), outside
the ledger: they change no access.

Database calls, all by ``_id``: per user and batch, one load, one save (state, ledger,
share and outbox together), one clear of the outbox when there were facts; per batch,
before any save, one insert of the first credits of payments not stored yet (an upsert
for any other payment or refund record), and after every save, one unordered insert per
schedule of the moments that moved and one wait for the acknowledgement of all the
batch's facts (each user's in order, before their outbox is cleared); per user with traffic
counts in the batch, one read and at most one write of their totals; per shard (Kafka
partition) and batch, one read and, when a share moved, one write.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from events import Envelope, Event, encode
from events.codec import decode
from events.payments import HeldPaymentRefunded, PaymentHeld
from events.subscriptions import RenewalDue
from events.traffic import TrafficCounted
from keyland.kafka.batches import all_of, side_by_side
from keyland.kafka.producer import EventPublisher
from services.subscription.adapters.figure_shards import FigureShards
from services.subscription.adapters.payments import Payments
from services.subscription.adapters.payments_api import PaymentsApi
from services.subscription.adapters.schedule import Schedule
from services.subscription.adapters.users import Users, user_document
from services.subscription.domain.compaction import compact
from services.subscription.domain.entries import to_entry
from services.subscription.domain.facts import facts_for, stamped
from services.subscription.domain.figures import (
    Figures,
    ShareChange,
    fold_shares,
    inactive_from,
    share_of,
)
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from services.subscription.domain.renewal import Charge, next_charge
from services.subscription.domain.revision import next_revision
from services.subscription.domain.rules import Rules
from services.subscription.domain.state import Subscription
from services.subscription.handlers.promos import PROMO_EVENTS, PromoDesk
from services.subscription.handlers.renewal import charge, still_due
from services.subscription.handlers.traffic import TrafficTally

log = logging.getLogger(__name__)

PRODUCER = "subscription"

Arrival = tuple[Envelope[Event], Entry]
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Schedules:
    """Where the handler files moments for the sweeps: access lapses (``expiry``),
    cleanup candidates (``inactivity``, ``cleanup_after`` past the last activity) and
    renewal charges due (``renewal``)."""

    expiry: Schedule
    inactivity: Schedule
    cleanup_after: timedelta
    renewal: Schedule


@dataclass(frozen=True)
class _Plan:
    """One user's new state, decided and not yet saved."""

    telegram_id: int
    first: Subscription
    state: Subscription
    entries: list[Entry]
    revision: int
    facts: list[bytes]
    at: datetime
    saved_share: Figures
    share: Figures
    charge: Charge | None
    first_charge: Charge | None


@dataclass(frozen=True)
class _Release:
    """One user's saved outbox (facts, encoded) and the moments to file for the sweeps
    (None: not moved)."""

    telegram_id: int
    outbox: list[bytes]
    lapses_at: datetime | None
    inactive_at: datetime | None
    renews_at: datetime | None = None


class SubscriptionHandler:
    def __init__(  # noqa: PLR0917 - the handler's ports, each built once in bootstrap
        self,
        users: Users,
        payments: Payments,
        shards: FigureShards,
        schedules: Schedules,
        publisher: EventPublisher,
        rules: Rules,
        promos: PromoDesk,
        traffic: TrafficTally,
        *,
        payments_api: PaymentsApi | None = None,
        rebuild: bool = False,
    ) -> None:
        self._promos = promos
        self._traffic = traffic
        self._users = users
        self._payments = payments
        self._shards = shards
        self._schedules = schedules
        self._publisher = publisher
        self._rules = rules
        self._payments_api = payments_api
        self._rebuild = rebuild
        # Per shard, users saved with the share their shard holds in ``inflight``.
        self._saved: dict[int, dict[int, Figures]] = defaultdict(dict)

    async def __call__(self, envelope: Envelope[Event]) -> None:
        await self.handle_batch([envelope])

    def clear(self) -> None:
        """Forget which users were saved with the share their shard holds in flight: once
        a shard moves, another instance writes it and may set the same share in flight
        again for a user whose document it has not saved yet; removing that entry on
        this instance's word, when the shard comes back, would leave the totals off by
        the difference. Called whenever partitions are revoked or assigned; an entry not
        removed stays until the user's share moves again, which changes no total."""
        self._saved.clear()

    async def handle_batch(self, envelopes: Sequence[Envelope[Event]]) -> None:
        per_user: dict[int, list[Arrival]] = defaultdict(list)
        promos: list[Envelope[Event]] = []
        renewals: list[RenewalDue] = []
        counts: list[TrafficCounted] = []
        for envelope in envelopes:
            if isinstance(envelope.payload, TrafficCounted):
                counts.append(envelope.payload)
                continue
            if isinstance(envelope.payload, PROMO_EVENTS):
                # Keyed by the code: decided on the code's partition, not a user's.
                promos.append(envelope)
                continue
            if isinstance(envelope.payload, RenewalDue):
                renewals.append(envelope.payload)  # charged once the batch is saved
                continue
            if isinstance(envelope.payload, PaymentHeld):
                # Recorded for admins, never credited: a grant comes back as its own command.
                await self._payments.hold(envelope.payload)
                continue
            if isinstance(envelope.payload, HeldPaymentRefunded):
                # Names no user: the held payment is closed, no ledger changes.
                await self._payments.refund_held(envelope.payload)
                continue
            mapped = to_entry(envelope)
            if mapped is not None:
                per_user[mapped[0]].append((envelope, mapped[1]))
        if promos:
            await self._promos.handle(promos)
        if counts:
            await self._traffic.handle(counts)
        plans = await side_by_side(per_user.items(), lambda item: self._plan(*item))
        # Before any user's save, as each entry's record was when it was applied one by one.
        applied = zip(per_user, (new for _, new in plans), strict=True)
        changed = [p for p, _ in plans if p is not None]
        await all_of(
            self._payments.record_many([(t, entry) for t, new in applied for entry in new]),
            self._move_shards(changed),
        )
        await self._release(await side_by_side(changed, self._commit))
        for due in renewals:
            await self._renew(due)

    async def _renew(self, due: RenewalDue) -> None:
        """Charge a renewal found due, if the user's document still has it due (a
        replayed or late one is not: renewed, turned off, purged or retried since)."""
        if self._rebuild:
            return
        record = await self._users.load(due.telegram_id)
        if not still_due(record.renewal, due):
            log.info("renewal of %s for %s no longer due", due.telegram_id, due.period_end)
            return
        await charge(self._payments_api, due)

    async def _plan(
        self, telegram_id: int, arrivals: list[Arrival]
    ) -> tuple[_Plan | None, list[Entry]]:
        """The user's new state (None: unchanged), and the entries newly applied, whose
        payments are to be recorded."""
        record = await self._users.load(telegram_id)
        if record.outbox and not self._rebuild:
            inactive = inactive_from(
                record.registered_at,
                record.last_purchase_at,
                record.until,
                self._schedules.cleanup_after,
            )
            renews_at = None if record.renewal is None else record.renewal["at"]
            await self._release(
                [_Release(telegram_id, record.outbox, record.until, inactive, renews_at)]
            )
        entries, applied, revision = record.entries, record.applied, record.revision
        first = state = fold(telegram_id, entries, self._rules)
        facts: list[bytes] = []
        applied_now: list[Entry] = []
        for envelope, entry in arrivals:
            if str(entry.event_id) in applied:
                log.info("event %s applied already; skipped", envelope.event_id)
                continue
            grown = [*entries, entry]
            after = fold(telegram_id, grown, self._rules)
            kept = compact(grown, after.outcomes)
            revision = next_revision(revision, entry, kept)
            if not self._rebuild:
                facts += self._facts(envelope, entry, state, after, revision)
            applied_now.append(entry)
            entries, state = kept, after
            applied.add(str(entry.event_id))
        share = share_of(state, entries)
        if state is first and share == record.share:
            return None, applied_now
        at = arrivals[-1][0].occurred_at
        charge, first_charge = (
            next_charge(state, self._rules.renewal),
            next_charge(first, self._rules.renewal),
        )
        plan = _Plan(
            telegram_id,
            first,
            state,
            entries,
            revision,
            facts,
            at,
            record.share,
            share,
            charge,
            first_charge,
        )
        return plan, applied_now

    async def _move_shards(self, plans: list[_Plan]) -> None:
        per_shard: dict[int, list[ShareChange]] = defaultdict(list)
        for plan in plans:
            change = ShareChange(plan.telegram_id, plan.saved_share, plan.share)
            per_shard[self._shards.shard_of(plan.telegram_id)].append(change)
        for shard, changes in per_shard.items():
            saved = dict(self._saved[shard])
            held = await self._shards.load(shard)
            moved = fold_shares(held, changes, saved)
            if moved != held:
                await self._shards.store(shard, moved)
            for telegram_id, share in saved.items():
                if self._saved[shard].get(telegram_id) == share:
                    del self._saved[shard][telegram_id]

    async def _commit(self, plan: _Plan) -> _Release:
        """Save the user's new state; what is to be filed and published after it."""
        state, first = plan.state, plan.first
        charge = plan.charge
        renews_at = charge.at if charge is not None and charge != plan.first_charge else None
        if renews_at is not None and not self._rebuild:
            await self._schedules.renewal.file(plan.telegram_id, renews_at)
        await self._users.save(
            user_document(
                state,
                plan.entries,
                plan.facts,
                at=plan.at,
                share=plan.share,
                revision=plan.revision,
                renewal=plan.charge,
            )
        )
        if plan.share != plan.saved_share:
            self._saved[self._shards.shard_of(plan.telegram_id)][plan.telegram_id] = plan.share
        moved = state.registered and state.until is not None and state.until != first.until
        inactive = self._inactive_from(state)
        return _Release(
            plan.telegram_id,
            plan.facts,
            state.until if moved else None,
            inactive if inactive != self._inactive_from(first) else None,
            renews_at,
        )

    def _inactive_from(self, state: Subscription) -> datetime | None:
        return inactive_from(
            state.registered_at,
            state.last_purchase_at,
            state.until,
            self._schedules.cleanup_after,
        )

    @staticmethod
    def _facts(
        cause: Envelope[Event],
        entry: Entry,
        before: Subscription,
        after: Subscription,
        revision: int,
    ) -> list[bytes]:
        facts = []
        for told in stamped(entry, facts_for(entry, before, after, revision), after):
            envelope = Envelope.new(
                told.fact,
                producer=PRODUCER,
                occurred_at=told.occurred_at,
                event_id=told.event_id,
                cause=cause,
            )
            facts.append(encode(envelope))
        return facts

    async def _release(self, releases: list[_Release]) -> None:
        """After the users' saves: file every moment that moved (one insert per schedule
        for the lot) while every outbox's facts are published (one wait for all
        acknowledgements; each user's in order), then clear those outboxes."""
        with_facts = [r for r in releases if r.outbox]
        await all_of(
            self._schedules.expiry.file_many(
                [(r.telegram_id, r.lapses_at) for r in releases if r.lapses_at is not None]
            ),
            self._schedules.renewal.file_many(
                []
                if self._rebuild
                else [(r.telegram_id, r.renews_at) for r in releases if r.renews_at is not None]
            ),
            self._schedules.inactivity.file_many(
                [(r.telegram_id, r.inactive_at) for r in releases if r.inactive_at is not None]
            ),
            self._publisher.publish_many([decode(raw) for r in with_facts for raw in r.outbox]),
        )
        await side_by_side(with_facts, lambda r: self._users.clear_outbox(r.telegram_id))
