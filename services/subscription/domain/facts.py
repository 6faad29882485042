"""The facts one new ledger entry implies, given the state before and after it."""

from __future__ import annotations

from events import Event
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
    UserPurged,
    UserRegistered,
)
from services.subscription.domain.ledger import (
    Adjusted,
    Entry,
    Paid,
    ReferralEarned,
    ReferralRevoked,
    Refunded,
    TrialAsked,
)
from services.subscription.domain.state import Effect, Outcome, Subscription

_REASONS: dict[type, ExtensionReason] = {
    Paid: ExtensionReason.PAYMENT,
    TrialAsked: ExtensionReason.TRIAL,
    ReferralEarned: ExtensionReason.REFERRAL,
    Adjusted: ExtensionReason.ADMIN,
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
    if outcome.effect is Effect.REJECTED and isinstance(entry, Adjusted):
        facts.append(
            AdjustmentRejected(telegram_id=tg, admin_id=entry.admin_id, reason=outcome.reason)
        )
    if isinstance(entry, Paid) and outcome.referrer_id is not None and outcome.registered_at:
        # a payment credited on arrival, less what refunds of it that came first take back
        days = outcome.referral_days - after.payments[entry.payment_id].referral_taken
        if days > 0:
            facts.append(
                ReferralBonusEarned(
                    telegram_id=outcome.referrer_id,
                    invitee_id=tg,
                    invitee_registered_at=outcome.registered_at,
                    payment_id=entry.payment_id,
                    days=days,
                )
            )
    if outcome.referrer_id is not None and outcome.registered_at:
        facts += [
            ReferralBonusEarned(
                telegram_id=outcome.referrer_id,
                invitee_id=tg,
                invitee_registered_at=outcome.registered_at,
                payment_id=payment_id,
                days=days,
            )
            for payment_id, days in outcome.applied
            if days > 0
        ]
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
    if outcome.applied:  # a registration applied credit held for the user
        payment_id, reason = outcome.applied[-1][0], ExtensionReason.PAYMENT
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
            first_purchase=outcome.first_purchase,
            revision=revision,
        )
    ]
