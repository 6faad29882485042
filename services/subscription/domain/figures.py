"""The business figures: what each user adds to them, and the counts kept per shard.

A user's *share* is what they add to every figure: registered (1 or 0), active, trial
used, paid, paid after a trial, and the revenue of their credited payments minus refunds
per currency. It is a pure function of their state and ledger, so the same events give
the same share however often they arrive.

The totals are kept in shards, each with exactly one writer (see
:mod:`..adapters.figure_shards`). A shard moves by the difference between a user's new
share and the share the shard holds for them, and it is written *before* the user's
document: it records the new share it now holds for the user in ``inflight``. The share
the shard holds for a user is ``inflight[user]`` when present, else the share saved in
the user's document, so whatever crash or redelivery comes between the two writes, the
next fold of that user moves the totals by exactly what is missing (a property test
holds it to that). An ``inflight`` entry goes once the user's document is saved with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from services.subscription.domain.ledger import Entry, Paid, Refunded
from services.subscription.domain.state import Subscription

Revenue = tuple[tuple[str, Decimal], ...]


def _revenue(amounts: Mapping[str, Decimal]) -> Revenue:
    """Per currency, sorted, without the currencies that add up to nothing."""
    return tuple(sorted((c, a) for c, a in amounts.items() if a != 0))


@dataclass(frozen=True)
class Figures:
    users: int = 0
    active: int = 0
    trials: int = 0
    paid: int = 0
    paid_after_trial: int = 0
    revenue: Revenue = ()

    def __add__(self, other: Figures) -> Figures:
        return self._combine(other, 1)

    def __sub__(self, other: Figures) -> Figures:
        return self._combine(other, -1)

    def _combine(self, other: Figures, sign: int) -> Figures:
        amounts: dict[str, Decimal] = defaultdict(Decimal, self.revenue)
        for currency, amount in other.revenue:
            amounts[currency] += sign * amount
        return Figures(
            users=self.users + sign * other.users,
            active=self.active + sign * other.active,
            trials=self.trials + sign * other.trials,
            paid=self.paid + sign * other.paid,
            paid_after_trial=self.paid_after_trial + sign * other.paid_after_trial,
            revenue=_revenue(amounts),
        )

    def to_document(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "active": self.active,
            "trials": self.trials,
            "paid": self.paid,
            "paid_after_trial": self.paid_after_trial,
            "revenue": {currency: str(amount) for currency, amount in self.revenue},
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any] | None) -> Figures:
        """The figures stored as :meth:`to_document` made them; none stored: zero."""
        if not document:
            return cls()
        return cls(
            users=document["users"],
            active=document["active"],
            trials=document["trials"],
            paid=document["paid"],
            paid_after_trial=document["paid_after_trial"],
            revenue=_revenue({c: Decimal(a) for c, a in document["revenue"].items()}),
        )


def share_of(state: Subscription, entries: Iterable[Entry]) -> Figures:
    """What the user adds to the figures. Active: registered with access that has not
    been announced lapsed (the expiry sweep announces each lapse within seconds)."""
    registered = state.registered
    active = state.until is not None and (
        state.lapsed_until is None or state.until > state.lapsed_until
    )
    bought = state.purchases > 0
    return Figures(
        users=int(registered),
        active=int(registered and active),
        trials=int(registered and state.trial_used),
        paid=int(registered and bought),
        paid_after_trial=int(registered and bought and state.trial_used),
        revenue=revenue_of(entries),
    )


def revenue_of(entries: Iterable[Entry]) -> Revenue:
    """Each credited payment (once per payment id, registered or not) less its refunds
    (once per refund id, never more than the payment)."""
    payments: dict[str, Paid] = {}
    refunds: dict[tuple[str, str], Decimal] = {}
    for entry in sorted(entries, key=lambda e: e.sort_key()):
        if isinstance(entry, Paid):
            payments.setdefault(entry.payment_id, entry)
        elif isinstance(entry, Refunded):
            refunds.setdefault((entry.payment_id, entry.refund_id), entry.amount)
    refunded: dict[str, Decimal] = defaultdict(Decimal)
    for (payment_id, _), amount in refunds.items():
        refunded[payment_id] += amount
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for payment in payments.values():
        kept = payment.amount - min(payment.amount, refunded[payment.payment_id])
        amounts[payment.currency] += kept
    return _revenue(amounts)


@dataclass(frozen=True)
class ShareChange:
    """A user's share as saved in their document, and as their state now makes it."""

    telegram_id: int
    saved: Figures
    new: Figures


@dataclass(frozen=True)
class Shard:
    totals: Figures = Figures()
    inflight: Mapping[int, Figures] = field(default_factory=dict)


def fold_shares(
    shard: Shard, changes: Iterable[ShareChange], saved: Mapping[int, Figures]
) -> Shard:
    """``shard`` moved by ``changes`` (each written to its user's document only after
    this shard is stored); ``saved``: users whose document was stored since with the
    given share (their ``inflight`` entry goes if it still holds that share)."""
    inflight = dict(shard.inflight)
    for telegram_id, share in saved.items():
        if inflight.get(telegram_id) == share:
            del inflight[telegram_id]
    totals = shard.totals
    for change in changes:
        held = shard.inflight.get(change.telegram_id, change.saved)
        totals = totals + (change.new - held)
        if change.new == change.saved:
            inflight.pop(change.telegram_id, None)
        else:
            inflight[change.telegram_id] = change.new
    return Shard(totals, inflight)


def inactive_from(
    registered_at: datetime | None,
    last_purchase_at: datetime | None,
    until: datetime | None,
    age: timedelta,
) -> datetime | None:
    """When a user becomes a cleanup candidate (:func:`is_inactive`), if they are a user."""
    if registered_at is None:
        return None
    moment = (last_purchase_at or registered_at) + age
    return moment if until is None else max(moment, until)


def is_inactive(
    registered_at: datetime | None,
    last_purchase_at: datetime | None,
    until: datetime | None,
    now: datetime,
    age: timedelta,
) -> bool:
    """A registered user whose access has ended and whose last purchase (or, if they
    never bought, registration) is at least ``age`` old."""
    moment = inactive_from(registered_at, last_purchase_at, until, age)
    return moment is not None and moment <= now
