"""Ledger entries for domain tests, with readable defaults."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.subscription.domain.ledger import (
    Adjusted,
    BlockSet,
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

T0 = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def at(days: float = 0) -> datetime:
    return T0 + timedelta(days=days)


def _id() -> uuid.UUID:
    return uuid.uuid4()


def started(day: float = 0, referrer: int | None = None, username: str = "anna") -> Started:
    return Started(event_id=_id(), at=at(day), username=username or None, referrer_id=referrer)


def region(day: float = 0, name: str = "finland") -> RegionPicked:
    return RegionPicked(event_id=_id(), at=at(day), region=name)


def trial(day: float = 0) -> TrialAsked:
    return TrialAsked(event_id=_id(), at=at(day))


def paid(
    day: float = 0, months: int = 1, payment: str | None = None, amount: str = "199.00"
) -> Paid:
    return Paid(
        event_id=_id(),
        at=at(day),
        payment_id=payment or f"pay-{uuid.uuid4().hex[:8]}",
        plan=f"month_{months}",
        months=months,
        days=0,
        amount=Decimal(amount),
        currency="RUB",
    )


def refunded(
    payment: str, day: float, amount: str = "199.00", refund: str | None = None
) -> Refunded:
    return Refunded(
        event_id=_id(),
        at=at(day),
        payment_id=payment,
        refund_id=refund or f"r-{payment}",
        amount=Decimal(amount),
    )


def adjusted(day: float = 0, months: int = 0, days: int = 0) -> Adjusted:
    return Adjusted(event_id=_id(), at=at(day), months=months, days=days, admin_id=42)


def provisioned(day: float = 0, months: int = 0, days: int = 0) -> Provisioned:
    return Provisioned(event_id=_id(), at=at(day), months=months, days=days, admin_id=42)


def block(day: float = 0, blocked: bool = True) -> BlockSet:
    return BlockSet(event_id=_id(), at=at(day), blocked=blocked, admin_id=42)


def referral(
    day: float, invitee: int, invitee_registered: float, days: int = 10, payment: str | None = None
) -> ReferralEarned:
    return ReferralEarned(
        event_id=_id(),
        at=at(day),
        invitee_id=invitee,
        invitee_registered_at=at(invitee_registered),
        payment_id=payment or f"pay-of-{invitee}-{day}",
        days=days,
    )


def referral_revoked(
    day: float, invitee: int, payment: str, days: int = 10, refund: str | None = None
) -> ReferralRevoked:
    return ReferralRevoked(
        event_id=_id(),
        at=at(day),
        invitee_id=invitee,
        payment_id=payment,
        refund_id=refund or f"r-{payment}",
        days=days,
    )


def purged(day: float) -> Purged:
    return Purged(event_id=_id(), at=at(day), reason="admin")


def lapsed(until: datetime) -> Lapsed:
    return Lapsed(event_id=_id(), at=until, until=until)


def granted(day: float, grant: str = "promo:WINTER", days: int = 14) -> Granted:
    return Granted(event_id=_id(), at=at(day), grant_id=grant, days=days)


def saved(day: float, method: str = "m1", plan: str = "month_1") -> MethodSaved:
    return MethodSaved(event_id=_id(), at=at(day), payment_id="p", method_id=method, plan=plan)


def declined(period_end: datetime, attempt: int, when: datetime) -> RenewalDeclined:
    return RenewalDeclined(event_id=_id(), at=when, period_end=period_end, attempt=attempt)


def renewal_off(day: float) -> RenewalOff:
    return RenewalOff(event_id=_id(), at=at(day))
