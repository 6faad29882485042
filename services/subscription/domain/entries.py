"""Incoming events as ledger entries (the one place that maps the event vocabulary in)."""

from __future__ import annotations

from typing import Any

from events import Envelope, Event
from events.admin_commands import (
    HeldPaymentGranted,
    SubscriptionAdjusted,
    UserBlockRequested,
    UserProvisioned,
    UserPurgeRequested,
)
from events.bot_actions import RegionChosen, RenewalTurnedOff, TrialRequested, UserStarted
from events.payments import (
    PaymentMethodSaved,
    PaymentSucceeded,
    RefundSucceeded,
)
from events.payments import RenewalDeclined as RenewalWasDeclined
from events.subscriptions import (
    PromoCodeRedeemed,
    ReferralBonusEarned,
    ReferralBonusRevoked,
    SubscriptionExpired,
)
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


def to_entry(envelope: Envelope[Event]) -> tuple[int, Entry] | None:
    """The user and ledger entry an event makes, or None for events this service ignores."""
    event, base = envelope.payload, {"event_id": envelope.event_id, "at": envelope.occurred_at}
    match event:
        case UserStarted():
            entry: Entry = Started(
                **base,
                username=event.username,
                language_code=event.language_code,
                referrer_id=event.referrer_id,
            )
        case TrialRequested():
            entry = TrialAsked(**base)
        case RegionChosen():
            entry = RegionPicked(**base, region=event.region)
        case PaymentSucceeded() | HeldPaymentGranted():
            # An admin's grant credits the held payment under its own id: once, like
            # any payment, however often it is granted.
            entry = Paid(
                **base,
                payment_id=f"{event.provider}:{event.payment_id}",
                plan=event.plan,
                months=event.months,
                days=event.days,
                amount=event.amount,
                currency=event.currency,
            )
        case RefundSucceeded():
            entry = Refunded(
                **base,
                payment_id=f"{event.provider}:{event.payment_id}",
                refund_id=event.refund_id,
                amount=event.amount,
            )
        case SubscriptionAdjusted() | UserProvisioned() | UserBlockRequested():
            entry = _admins(event, base)
        case UserPurgeRequested():
            entry = Purged(**base, reason=event.reason)
        case ReferralBonusEarned():
            entry = ReferralEarned(
                **base,
                invitee_id=event.invitee_id,
                invitee_registered_at=event.invitee_registered_at,
                payment_id=event.payment_id,
                days=event.days,
            )
        case ReferralBonusRevoked():
            entry = ReferralRevoked(
                **base,
                invitee_id=event.invitee_id,
                payment_id=event.payment_id,
                refund_id=event.refund_id,
                days=event.days,
            )
        case PromoCodeRedeemed():
            source = "gift" if event.gift else "promo"
            entry = Granted(
                **base, grant_id=f"{source}:{event.code}", months=event.months, days=event.days
            )
        case SubscriptionExpired():
            entry = Lapsed(**base, until=event.until)
        case _:
            return _renewal_entry(envelope)
    return event.telegram_id, entry


def _renewal_entry(envelope: Envelope[Event]) -> tuple[int, Entry] | None:
    """The entries of automatic renewal: a method saved, renewal turned off, a decline."""
    event, base = envelope.payload, {"event_id": envelope.event_id, "at": envelope.occurred_at}
    match event:
        case PaymentMethodSaved():
            entry: Entry = MethodSaved(
                **base,
                payment_id=f"{event.provider}:{event.payment_id}",
                method_id=event.method_id,
                plan=event.plan,
            )
        case RenewalWasDeclined():
            entry = RenewalDeclined(**base, period_end=event.period_end, attempt=event.attempt)
        case RenewalTurnedOff():
            entry = RenewalOff(**base)
        case _:
            return None
    return event.telegram_id, entry


def _admins(
    event: SubscriptionAdjusted | UserProvisioned | UserBlockRequested, base: dict[str, Any]
) -> Entry:
    """The entry of an admin's change to one user's access."""
    match event:
        case SubscriptionAdjusted():
            return Adjusted(**base, months=event.months, days=event.days, admin_id=event.admin_id)
        case UserProvisioned():
            return Provisioned(
                **base, months=event.months, days=event.days, admin_id=event.admin_id
            )
    return BlockSet(**base, blocked=event.blocked, admin_id=event.admin_id)
