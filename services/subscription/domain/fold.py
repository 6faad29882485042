"""The fold: a user's entries, in time order, into their subscription state.

Rules (times are the events' ``occurred_at``, never the wall clock):
- any entry registers an unregistered user; the first /start fixes the referrer, who
  can be nobody but another user (never oneself);
- a payment extends from ``max(until, paid time)`` by calendar months and days; each
  paid month earns the referrer ``referral_bonus_days_per_month`` days, once per payment;
- one trial per user, refused while access is active;
- an admin adjustment past ``max_horizon`` from its time is rejected with the reason;
  a negative one needs active access and never ends it before the adjustment's time;
- a refund takes back what its payment added (in proportion to the amount refunded),
  never before the refund's time;
- a referral bonus counts only if the referrer registered before the invitee and the
  invitee is not the referrer's own referrer (so referral cycles earn nothing);
- a purge ends the user's generation: access, profile and key are gone, the next
  entry registers them afresh with a new key; the trial stays used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from keyland.periods import extend
from services.subscription.domain.ledger import (
    Adjusted,
    Entry,
    Paid,
    Purged,
    ReferralEarned,
    Refunded,
    RegionPicked,
    Started,
    TrialAsked,
)
from services.subscription.domain.rules import Rules
from services.subscription.domain.state import Effect, Outcome, PaymentRecord, Subscription


def fold(telegram_id: int, entries: Iterable[Entry], rules: Rules) -> Subscription:
    """The state after every distinct entry (by event id), applied in time order."""
    unique = {entry.event_id: entry for entry in entries}
    state = Subscription(telegram_id, key_secret=rules.key_secret)
    for entry in sorted(unique.values(), key=lambda e: e.sort_key()):
        state.outcomes[entry.event_id] = _apply(state, entry, rules)
    return state


def _apply(state: Subscription, entry: Entry, rules: Rules) -> Outcome:
    newly_registered = state.registered_at is None and not isinstance(entry, Purged)
    if newly_registered:
        state.registered_at = entry.at
    match entry:
        case Started():
            return _started(state, entry, newly_registered)
        case RegionPicked():
            state.region = entry.region
            return Outcome(Effect.UPDATED_PROFILE, key_id=state.key_id)
        case TrialAsked():
            return _trial(state, entry, rules)
        case Paid():
            return _paid(state, entry, rules)
        case Refunded():
            return _refunded(state, entry)
        case Adjusted():
            return _adjusted(state, entry, rules)
        case ReferralEarned():
            return _referral(state, entry)
        case Purged():
            return _purged(state, entry)


def _change(state: Subscription, until: datetime, outcome: Outcome) -> Outcome:
    """Move ``until`` and return ``outcome`` completed with the before/after and the key."""
    before, state.until = state.until, until
    return replace(outcome, until_before=before, until_after=until, key_id=state.key_id)


def _started(state: Subscription, entry: Started, newly_registered: bool) -> Outcome:
    state.username = entry.username or state.username
    state.language_code = entry.language_code or state.language_code
    if not newly_registered:
        return Outcome(Effect.UPDATED_PROFILE, key_id=state.key_id)
    if entry.referrer_id is not None and entry.referrer_id != state.telegram_id:
        state.referrer_id = entry.referrer_id
    return Outcome(Effect.REGISTERED, key_id=state.key_id, registered_at=state.registered_at)


def _trial(state: Subscription, entry: TrialAsked, rules: Rules) -> Outcome:
    if state.trial_used:
        return Outcome(Effect.IGNORED, reason="the trial was used already")
    if state.active_at(entry.at):
        return Outcome(Effect.IGNORED, reason="access is active; no trial needed")
    state.trial_used = True
    return _change(state, entry.at + rules.trial, Outcome(Effect.TRIAL_GRANTED))


def _paid(state: Subscription, entry: Paid, rules: Rules) -> Outcome:
    if entry.payment_id in state.payments:
        return Outcome(Effect.IGNORED, reason=f"payment {entry.payment_id} was credited already")
    start = max(state.until or entry.at, entry.at)
    until = extend(start, entry.months, entry.days)
    state.payments[entry.payment_id] = PaymentRecord(added=until - start, amount=entry.amount)
    first_purchase = state.purchases == 0
    state.purchases += 1
    state.last_purchase_at = entry.at
    referral_days = rules.referral_bonus_days_per_month * entry.months
    earns = state.referrer_id is not None and referral_days > 0
    outcome = Outcome(
        Effect.EXTENDED,
        first_purchase=first_purchase,
        referrer_id=state.referrer_id if earns else None,
        referral_days=referral_days if earns else 0,
        registered_at=state.registered_at,
    )
    return _change(state, until, outcome)


def _refunded(state: Subscription, entry: Refunded) -> Outcome:
    record = state.payments.get(entry.payment_id)
    if record is None:
        return Outcome(Effect.IGNORED, reason=f"no payment {entry.payment_id} to refund")
    refundable = record.amount - record.refunded
    if refundable <= 0:
        return Outcome(Effect.IGNORED, reason=f"payment {entry.payment_id} is fully refunded")
    amount = min(entry.amount, refundable)
    record.refunded += amount
    share = amount / record.amount if record.amount else 1
    taken = record.added * float(share)
    until = max(entry.at, (state.until or entry.at) - taken)
    return _change(state, until, Outcome(Effect.SHORTENED, reason="refund"))


def _adjusted(state: Subscription, entry: Adjusted, rules: Rules) -> Outcome:
    if entry.months * entry.days < 0:
        return Outcome(Effect.REJECTED, reason="months and days must have the same sign")
    if entry.months >= 0 and entry.days >= 0:
        until = extend(max(state.until or entry.at, entry.at), entry.months, entry.days)
        horizon = entry.at + rules.max_horizon
        if until > horizon:
            return Outcome(
                Effect.REJECTED,
                reason=(
                    f"access would last until {until:%Y-%m-%d}, past the maximum horizon "
                    f"of {rules.max_horizon.days} days ({horizon:%Y-%m-%d})"
                ),
            )
        return _change(state, until, Outcome(Effect.EXTENDED))
    if state.until is None or not state.active_at(entry.at):
        return Outcome(Effect.REJECTED, reason="the user has no active access to shorten")
    until = max(entry.at, extend(state.until, entry.months, entry.days))
    return _change(state, until, Outcome(Effect.SHORTENED, reason="admin"))


def _referral(state: Subscription, entry: ReferralEarned) -> Outcome:
    if entry.payment_id in state.credited_referrals:
        return Outcome(Effect.IGNORED, reason=f"referral for {entry.payment_id} credited already")
    assert state.registered_at is not None  # registered by this very entry at the latest
    if state.registered_at >= entry.invitee_registered_at or state.referrer_id == entry.invitee_id:
        return Outcome(
            Effect.REJECTED,
            reason="a referrer must have registered before the invitee and not through them",
        )
    state.credited_referrals.add(entry.payment_id)
    state.referral_days_earned += entry.days
    until = extend(max(state.until or entry.at, entry.at), days=entry.days)
    return _change(state, until, Outcome(Effect.CREDITED))


def _purged(state: Subscription, entry: Purged) -> Outcome:
    if state.registered_at is None:
        return Outcome(Effect.IGNORED, reason="nothing to purge")
    outcome = Outcome(
        Effect.PURGED, reason=entry.reason, key_id=state.key_id, until_before=state.until
    )
    state.generation += 1
    state.purged_at = entry.at
    state.registered_at = state.until = state.referrer_id = None
    state.username = state.language_code = state.region = None
    return outcome
