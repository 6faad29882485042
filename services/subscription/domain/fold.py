"""The fold: a user's entries, in time order, into their subscription state.

Rules (times are the events' ``occurred_at``, never the wall clock):
- only the user's own /start registers them, and the first one fixes the referrer, who
  can be nobody but another user (never oneself);
- before that, nothing else counts: a payment is held as credit (refunds reduce it) and
  the registration applies it from its own time; a referral bonus, a trial, a region or
  an admin adjustment for someone who never started the bot does nothing (an adjustment
  is rejected with the reason), and none of them registers anyone;
- a payment extends from ``max(until, paid time)`` by calendar months and days; each
  paid month earns the referrer ``referral_bonus_days_per_month`` days, once per payment
  (the payment's record keeps who earned them; the bonus is told by whichever entry
  credits it, see :mod:`.facts`, so a /start that arrives after a payment made after it
  tells it too);
- one trial per user, refused while access is active;
- an admin adjustment past ``max_horizon`` from its time is rejected with the reason;
  a negative one needs active access and never ends it before the adjustment's time;
- a refund takes back what its payment added (in proportion to the amount refunded),
  never before the refund's time, and the same share of the referral days the payment
  earned the referrer (rounded down, so a full refund takes all of them): those go to
  the referrer as their own entry, which takes them back from the referrer's access,
  never before the refund's time (days already used up are not clawed back past it),
  once per refund and never more than were credited for the payment;
- a fully refunded payment is no longer a purchase (it adds nothing to the revenue, so
  it does not make a paying user either); it stays recorded, so it is never credited
  again;
- a referral bonus counts only if the referrer registered before the invitee and the
  invitee is not the referrer's own referrer (so referral cycles earn nothing);
- a grant (a promo code's use, a gift) extends from ``max(until, its time)`` by its
  months and days, once
  per grant id; before the user's /start it is held and the registration applies it
  from its own time;
- a lapse announced by the expiry sweep is remembered (the latest one): access that
  ends no later than it is over, for the figures, whatever the wall clock;
- a saved payment method renews its plan (the latest one saved wins) until the user
  turns renewal off, or a purge forgets it; a method saved before the user registered
  is not kept; each declined renewal attempt is remembered per access end (see
  :mod:`.renewal` for when the next charge is due);
- an admin's creation of an account (``Provisioned``) registers nobody either: its grant
  waits for the user's first /start and applies from it (after any held credit); for a
  user registered already it applies at once, like an adjustment. A grant past
  ``max_horizon`` from its time is rejected with the reason;
- an admin's block (``BlockSet``) holds for the Telegram id whether registered or not,
  until the next one lifts it, across purges; it changes no time: it only tells the
  provisioner to keep the keys disabled;
- a purge ends the user's generation: access, profile and key are gone, their next
  /start registers them afresh with a new key; the trial stays used. A purge of someone
  who never started drops the time admins granted them (not credit they paid for).

Being a pure function of the ledger, a payment's fate (credited, held, applied on
registration) comes out the same on redelivery and on a replay in any order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from keyland.periods import extend
from services.subscription.domain.ledger import (
    Adjusted,
    BlockSet,
    Entry,
    Granted,
    Lapsed,
    MethodSaved,
    Paid,
    Provisioned,
    Purged,
    ReferralEarned,
    ReferralRevoked,
    Refunded,
    RegionPicked,
    RenewalDeclined,
    RenewalOff,
    Started,
    TrialAsked,
)
from services.subscription.domain.rules import Rules
from services.subscription.domain.state import (
    Effect,
    HeldCredit,
    Outcome,
    PaymentRecord,
    ReferralCredit,
    Subscription,
)


def fold(telegram_id: int, entries: Iterable[Entry], rules: Rules) -> Subscription:
    """The state after every distinct entry (by event id), applied in time order."""
    unique = {entry.event_id: entry for entry in entries}
    state = Subscription(telegram_id, key_secret=rules.key_secret)
    for entry in sorted(unique.values(), key=lambda e: e.sort_key()):
        state.outcomes[entry.event_id] = _apply(state, entry, rules)
    return state


def _apply(state: Subscription, entry: Entry, rules: Rules) -> Outcome:
    outcome = _for_anyone(state, entry, rules)
    if outcome is not None:
        return outcome
    if state.registered_at is None:
        return _unregistered(state, entry)
    match entry:
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
        case Granted():
            return _granted(state, entry)
        case ReferralEarned():
            return _referral(state, entry)
        case ReferralRevoked():
            return _referral_revoked(state, entry)
        case Lapsed():
            state.lapsed_until = max(entry.until, state.lapsed_until or entry.until)
            return Outcome(Effect.LAPSED)
        case MethodSaved() | RenewalOff() | RenewalDeclined():
            return _renewal(state, entry)
    raise AssertionError(f"unhandled entry {entry!r}")  # pragma: no cover


def _for_anyone(state: Subscription, entry: Entry, rules: Rules) -> Outcome | None:
    """The outcome of an entry that counts whether the user registered or not."""
    match entry:
        case Started():
            return _started(state, entry, rules)
        case Purged():
            return _purged(state, entry)
        case Provisioned():
            return _provisioned(state, entry, rules)
        case BlockSet():
            state.blocked = entry.blocked
            return Outcome(Effect.BLOCK_SET, key_id=state.key_id)
    return None


NOT_STARTED = "the user has not started the bot"


def _renewal(state: Subscription, entry: MethodSaved | RenewalOff | RenewalDeclined) -> Outcome:
    match entry:
        case MethodSaved():
            state.renewal_method, state.renewal_plan = entry.method_id, entry.plan
        case RenewalOff():
            state.renewal_method = state.renewal_plan = None
        case RenewalDeclined():
            state.declined.setdefault(entry.period_end, {})[entry.attempt] = entry.at
    return Outcome(Effect.RENEWAL)


def _unregistered(state: Subscription, entry: Entry) -> Outcome:
    """Someone who never sent /start: a payment is held for them, nothing else counts."""
    match entry:
        case Paid() if entry.payment_id in state.payments or entry.payment_id in state.held:
            return Outcome(Effect.IGNORED, reason=f"payment {entry.payment_id} is known already")
        case Paid():
            state.held[entry.payment_id] = HeldCredit(entry)
            return Outcome(Effect.HELD, reason=NOT_STARTED)
        case Refunded() if entry.payment_id in state.held:
            held = state.held[entry.payment_id]
            held.refunded = min(held.entry.amount, held.refunded + entry.amount)
            return Outcome(Effect.HELD, reason="refunded before the user started the bot")
        case Adjusted():
            return Outcome(Effect.REJECTED, reason=NOT_STARTED)
        case Granted() if entry.grant_id not in state.promo_grants:
            state.held_promos.setdefault(entry.grant_id, entry)
            return Outcome(Effect.HELD, reason=NOT_STARTED)
    return Outcome(Effect.IGNORED, reason=NOT_STARTED)


def _change(state: Subscription, until: datetime, outcome: Outcome) -> Outcome:
    """Move ``until`` and return ``outcome`` completed with the before/after and the key."""
    before, state.until = state.until, until
    return replace(outcome, until_before=before, until_after=until, key_id=state.key_id)


def _started(state: Subscription, entry: Started, rules: Rules) -> Outcome:
    state.username = entry.username or state.username
    state.language_code = entry.language_code or state.language_code
    if state.registered_at is not None:
        return Outcome(Effect.UPDATED_PROFILE, key_id=state.key_id)
    state.registered_at = entry.at
    if entry.referrer_id is not None and entry.referrer_id != state.telegram_id:
        state.referrer_id = entry.referrer_id
    registered = Outcome(Effect.REGISTERED, key_id=state.key_id, registered_at=entry.at)
    if not state.held and not state.grants and not state.held_promos:
        return registered
    before, first_purchase = state.until, state.purchases == 0
    for held in sorted(state.held.values(), key=lambda h: h.entry.sort_key()):
        if held.refunded >= held.entry.amount:  # all of it went back: kept, adds nothing
            state.payments[held.entry.payment_id] = PaymentRecord(
                paid_by=held.entry.event_id,
                credited_at=entry.at,
                added=timedelta(0),
                amount=held.entry.amount,
                refunded=held.refunded,
            )
            continue
        # Access starts when the user can use it: from their registration.
        _paid(state, held.entry.model_copy(update={"at": entry.at}), rules)
        if held.refunded:
            refund = Refunded(
                event_id=held.entry.event_id,
                at=entry.at,
                payment_id=held.entry.payment_id,
                refund_id="before-registration",
                amount=held.refunded,
            )
            _refunded(state, refund)
    state.held.clear()
    for grant in state.grants:  # access starts when the user can use it, as above
        state.until = extend(max(state.until or entry.at, entry.at), grant.months, grant.days)
    state.grants.clear()
    for promo in sorted(state.held_promos.values(), key=lambda g: g.sort_key()):
        _granted(state, promo.model_copy(update={"at": entry.at}))
    state.held_promos.clear()
    return replace(
        registered,
        until_before=before,
        until_after=state.until,
        first_purchase=first_purchase and state.purchases > 0,
        referrer_id=state.referrer_id,
    )


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
    referral_days = rules.referral_bonus_days_per_month * entry.months
    earns = state.referrer_id is not None and referral_days > 0
    state.payments[entry.payment_id] = PaymentRecord(
        paid_by=entry.event_id,
        credited_at=entry.at,
        added=until - start,
        amount=entry.amount,
        referrer_id=state.referrer_id if earns else None,
        referral_days=referral_days if earns else 0,
        registered_at=state.registered_at,
    )
    first_purchase = state.purchases == 0
    state.purchases += 1
    state.last_purchase_at = entry.at
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
    if record.refunded >= record.amount:
        state.purchases -= 1
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


def _granted(state: Subscription, entry: Granted) -> Outcome:
    if entry.grant_id in state.promo_grants:
        return Outcome(Effect.IGNORED, reason=f"{entry.grant_id} was credited already")
    state.promo_grants.add(entry.grant_id)
    until = extend(max(state.until or entry.at, entry.at), entry.months, entry.days)
    return _change(state, until, Outcome(Effect.EXTENDED))


def _provisioned(state: Subscription, entry: Provisioned, rules: Rules) -> Outcome:
    """An admin's account for the user: its grant waits for their first /start, or
    applies at once when they registered already."""
    if extend(entry.at, entry.months, entry.days) > entry.at + rules.max_horizon:
        return Outcome(
            Effect.REJECTED,
            reason=f"a grant longer than the maximum horizon of {rules.max_horizon.days} days",
        )
    state.provisioned_at = entry.at
    if state.registered_at is None:
        state.grants.append(entry)
        return Outcome(Effect.HELD, reason="granted from the user's first /start")
    if entry.months == 0 and entry.days == 0:
        return Outcome(Effect.IGNORED, reason="registered already; nothing granted")
    granted = Adjusted(
        event_id=entry.event_id,
        at=entry.at,
        months=entry.months,
        days=entry.days,
        admin_id=entry.admin_id,
    )
    return _adjusted(state, granted, rules)


def _referral(state: Subscription, entry: ReferralEarned) -> Outcome:
    if entry.payment_id in state.credited_referrals:
        return Outcome(Effect.IGNORED, reason=f"referral for {entry.payment_id} credited already")
    assert state.registered_at is not None  # only registered users get here
    if state.registered_at >= entry.invitee_registered_at or state.referrer_id == entry.invitee_id:
        return Outcome(
            Effect.REJECTED,
            reason="a referrer must have registered before the invitee and not through them",
        )
    state.credited_referrals[entry.payment_id] = ReferralCredit(state.generation, entry.days)
    state.referral_days_earned += entry.days
    until = extend(max(state.until or entry.at, entry.at), days=entry.days)
    return _change(state, until, Outcome(Effect.CREDITED))


def _referral_revoked(state: Subscription, entry: ReferralRevoked) -> Outcome:
    credit = state.credited_referrals.get(entry.payment_id)
    if (entry.payment_id, entry.refund_id) in state.revoked_referrals:
        return Outcome(Effect.IGNORED, reason=f"refund {entry.refund_id} was taken back already")
    if credit is None or credit.generation != state.generation or credit.days <= 0:
        return Outcome(Effect.IGNORED, reason=f"no referral days for {entry.payment_id} to take")
    state.revoked_referrals.add((entry.payment_id, entry.refund_id))
    days = min(entry.days, credit.days)
    credit.days -= days
    state.referral_days_earned -= days
    outcome = Outcome(Effect.SHORTENED, reason="referral_refund")
    if state.until is None or not state.active_at(entry.at):
        return outcome  # access ended already: nothing left to take from
    return _change(state, max(entry.at, state.until - timedelta(days=days)), outcome)


def _purged(state: Subscription, entry: Purged) -> Outcome:
    if state.registered_at is None:  # held credit stays for the user's own /start
        if not state.grants:
            return Outcome(Effect.IGNORED, reason="nothing to purge")
        state.grants.clear()
        state.provisioned_at, state.purged_at = None, entry.at
        return Outcome(Effect.PURGED, reason=entry.reason)
    outcome = Outcome(
        Effect.PURGED, reason=entry.reason, key_id=state.key_id, until_before=state.until
    )
    state.generation += 1
    state.purged_at = entry.at
    state.registered_at = state.until = state.referrer_id = state.provisioned_at = None
    state.username = state.language_code = state.region = None
    state.renewal_method = state.renewal_plan = None
    return outcome
