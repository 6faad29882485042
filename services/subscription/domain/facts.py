"""The facts one new ledger entry implies, given the state before and after it."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from events import Event, derived_event_id
from events.subscriptions import (
    AdjustmentRejected,
    CreditHeld,
    ExtensionReason,
    ReferralBonusCredited,
    ReferralBonusEarned,
    ReferralBonusRevoked,
    SubscriptionExtended,
    SubscriptionShortened,
    TrialActivated,
    UserBlockChanged,
    UserPurged,
    UserRegistered,
)
from services.subscription.domain.ledger import (
    Adjusted,
    BlockSet,
    Entry,
    Granted,
    Paid,
    Provisioned,
    ReferralEarned,
    ReferralRevoked,
    Refunded,
    Started,
    TrialAsked,
)
from services.subscription.domain.state import Effect, Outcome, Subscription

_REASONS: dict[type, ExtensionReason] = {
    Paid: ExtensionReason.PAYMENT,
    TrialAsked: ExtensionReason.TRIAL,
    ReferralEarned: ExtensionReason.REFERRAL,
    Adjusted: ExtensionReason.ADMIN,
    Granted: ExtensionReason.PROMO,
}


def facts_for(
    entry: Entry, before: Subscription, after: Subscription, revision: int
) -> list[Event]:
    """Facts to publish, in order: who the user is, what the entry did, where access ends;
    those carrying ``until`` stamped with ``revision`` (see :mod:`.revision`)."""
    outcome = after.outcomes[entry.event_id]
    tg = after.telegram_id
    facts: list[Event] = []
    if outcome.effect is Effect.REGISTERED:
        facts.append(
            UserRegistered(
                telegram_id=tg,
                key_id=after.key_id,
                username=after.username,
                language_code=after.language_code,
                referrer_id=after.referrer_id,
            )
        )
    if outcome.effect is Effect.HELD and isinstance(entry, Paid):
        facts.append(
            CreditHeld(
                telegram_id=tg,
                payment_id=entry.payment_id,
                plan=entry.plan,
                months=entry.months,
                days=entry.days,
                amount=entry.amount,
                currency=entry.currency,
            )
        )
    if outcome.effect is Effect.TRIAL_GRANTED and after.until is not None:
        facts.append(
            TrialActivated(
                telegram_id=tg, key_id=after.key_id, until=after.until, revision=revision
            )
        )
    if outcome.effect is Effect.PURGED and outcome.key_id is not None:
        facts.append(UserPurged(telegram_id=tg, key_id=outcome.key_id))
    if outcome.effect is Effect.REJECTED and isinstance(entry, Adjusted | Provisioned):
        facts.append(
            AdjustmentRejected(telegram_id=tg, admin_id=entry.admin_id, reason=outcome.reason)
        )
    if isinstance(entry, BlockSet):
        # What the whole ledger says now, not what this entry did: a block read after a
        # later unblock must not block anyone (the revision orders the facts downstream).
        facts.append(UserBlockChanged(telegram_id=tg, blocked=after.blocked, revision=revision))
    facts += _referral_earned(before, after)
    if isinstance(entry, Refunded):
        facts += _referral_revoked(entry, before, after)
    if outcome.effect is Effect.CREDITED and isinstance(entry, ReferralEarned) and after.until:
        facts.append(
            ReferralBonusCredited(
                telegram_id=tg,
                invitee_id=entry.invitee_id,
                payment_id=entry.payment_id,
                days=entry.days,
                until=after.until,
                revision=revision,
            )
        )
    facts += _until_moved(entry, before, after, outcome, revision)
    return facts


def _referral_earned(before: Subscription, after: Subscription) -> list[Event]:
    """A bonus for each payment this entry got credited with a referrer (in ``after``'s
    payments, not in ``before``'s, or there without one): whichever entry that is. The
    payment itself, as a rule; but the /start and the payments come on different topics,
    so a payment may be handled while its payer looks unregistered and be held, and then
    it is the /start that credits it: applied from the registration if made before it,
    from its own time if made after it. A payment stays credited once it is, so it earns
    once; its days are what was kept of it (refunds that came first take theirs back,
    those after it revoke theirs, see :func:`_referral_revoked`)."""
    facts: list[Event] = []
    for payment_id, record in after.payments.items():
        earlier = before.payments.get(payment_id)
        if record.referrer_id is None or (earlier is not None and earlier.referrer_id):
            continue
        days = record.referral_days - record.referral_taken
        if days > 0 and record.registered_at is not None:
            facts.append(
                ReferralBonusEarned(
                    telegram_id=record.referrer_id,
                    invitee_id=after.telegram_id,
                    invitee_registered_at=record.registered_at,
                    payment_id=payment_id,
                    days=days,
                )
            )
    return facts


@dataclass(frozen=True)
class Stamped:
    """A fact with the id and time it is published under."""

    event_id: uuid.UUID
    occurred_at: datetime
    fact: Event


def stamped(entry: Entry, facts: Sequence[Event], after: Subscription) -> list[Stamped]:
    """Each fact with an id derived from its cause, so a re-published fact is
    recognisable, and its cause's time.

    The cause is the entry that implied the fact (the n-th fact of one type from it gets
    its own id, the first the plain one), except for a referral bonus: its cause is the
    payment that earned it, at the time it was credited from, whichever entry credited
    it; so the bonus has one id and one time (from which the referrer's days run) in
    whatever order the payment and its payer's /start arrive, and a replay or a second
    crediting after a purge comes back under that id, which the referrer credits once."""
    told: list[Stamped] = []
    seen = Counter[str]()
    for fact in facts:
        if isinstance(fact, ReferralBonusEarned):
            record = after.payments[fact.payment_id]
            fact_id = derived_event_id(record.paid_by, fact.event_type)
            told.append(Stamped(fact_id, record.credited_at, fact))
            continue
        nth = seen[fact.event_type]
        seen[fact.event_type] += 1
        fact_id = derived_event_id(entry.event_id, fact.event_type, str(nth) if nth else "")
        told.append(Stamped(fact_id, entry.at, fact))
    return told


def _referral_revoked(entry: Refunded, before: Subscription, after: Subscription) -> list[Event]:
    """The referral days this refund takes back: what the payment's refunds take now less
    what they took before it (so the days of all its refunds add up to the share refunded
    whatever order they come in, each refund's days told once, under its id)."""
    record = after.payments.get(entry.payment_id)
    if record is None or record.referrer_id is None:
        return []
    earlier = before.payments.get(entry.payment_id)
    days = record.referral_taken - (earlier.referral_taken if earlier else 0)
    if days <= 0:
        return []
    return [
        ReferralBonusRevoked(
            telegram_id=record.referrer_id,
            invitee_id=after.telegram_id,
            payment_id=entry.payment_id,
            refund_id=entry.refund_id,
            days=days,
        )
    ]


def _until_moved(
    entry: Entry, before: Subscription, after: Subscription, outcome: Outcome, revision: int
) -> list[Event]:
    if after.until == before.until or after.until is None or not after.registered:
        return []
    payment_id = getattr(entry, "payment_id", None)
    reason = _REASONS.get(type(entry), ExtensionReason.ADMIN)
    if isinstance(entry, Granted) and entry.grant_id.startswith("gift:"):
        reason = ExtensionReason.GIFT
    first_purchase = outcome.first_purchase
    credited = [p for p, r in after.payments.items() if p not in before.payments and r.added]
    if isinstance(entry, Started) and credited:
        # the registration credited payments held for the user (see _referral_earned)
        payment_id, reason = credited[-1], ExtensionReason.PAYMENT
        first_purchase = before.purchases == 0
    elif isinstance(entry, Started) and (granted := after.promo_grants - before.promo_grants):
        # the registration credited grants held for the user
        gifts = any(grant.startswith("gift:") for grant in granted)
        reason = ExtensionReason.GIFT if gifts else ExtensionReason.PROMO
    if before.until is not None and after.until < before.until:
        shortened = "refund" if payment_id else "admin"
        if isinstance(entry, ReferralRevoked):  # the invitee's payment, not the user's
            shortened, payment_id = "referral_refund", None
        return [
            SubscriptionShortened(
                telegram_id=after.telegram_id,
                key_id=after.key_id,
                previous_until=before.until,
                until=after.until,
                reason=shortened,
                payment_id=payment_id,
                revision=revision,
            )
        ]
    return [
        SubscriptionExtended(
            telegram_id=after.telegram_id,
            key_id=after.key_id,
            previous_until=before.until,
            until=after.until,
            reason=reason,
            payment_id=payment_id,
            first_purchase=first_purchase,
            revision=revision,
        )
    ]
