"""A notice: one message to one user, planned for a time, sent at most once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

Button = tuple[str, str]
"""An inline button as (what, value): ``("menu", "profile")`` or ``("region", "finland")``."""


class Kind(StrEnum):
    REMINDER = "reminder"
    EXPIRED = "expired"
    TRIAL = "trial_activated"
    FIRST_PAYMENT = "first_payment"
    RENEWAL = "renewal"
    ADMIN_EXTENDED = "extended_by_admin"
    REFERRAL = "referral_bonus"
    CANCELED = "payment_canceled"
    RENEWAL_DECLINED = "renewal_declined"
    REFUND = "refund"
    REJECTED = "adjustment_rejected"
    TEST = "test"
    PAYMENT_HELD = "payment_held"
    CREDIT_HELD = "credit_held"
    PROMO = "promo_applied"
    PROMO_UNKNOWN = "promo_unknown"
    PROMO_EXPIRED = "promo_expired"
    PROMO_USED_UP = "promo_used_up"
    PROMO_ALREADY_USED = "promo_already_used"
    GIFT = "gift_received"
    GIFT_PAID = "gift_paid"
    GIFT_UNKNOWN = "gift_unknown"
    GIFT_CLAIMED = "gift_claimed"
    GIFT_OWN = "gift_own"
    CANCELED_ALERT = "payment_canceled_alert"
    SUSPENDED = "access_suspended"
    RESTORED = "access_restored"
    NODE_DOWN = "node_down"
    NODE_BACK = "node_back"
    NODE_DOWN_ALERT = "node_down_alert"
    NODE_BACK_ALERT = "node_back_alert"


KEPT_FOR_NEXT_VISIT = frozenset(
    {
        Kind.FIRST_PAYMENT,
        Kind.RENEWAL,
        Kind.ADMIN_EXTENDED,
        Kind.REFUND,
        Kind.EXPIRED,
        Kind.GIFT_PAID,
        Kind.SUSPENDED,
        Kind.RESTORED,
    }
)
"""Notices a user must not miss: money moved (a payment received, and after a first one
the region to choose; a refund; a gift paid), someone changed their access (an extension,
a block or its lifting), or access ended. One of
these that Telegram could not deliver for a reason that may pass (the user never
started the bot, a network or server error) waits for the user's next visit to the bot.
Reminders, trial and bonus news, canceled payments, declined renewals and tests are
not kept: by the next
visit they are stale or the user has seen the same in the bot itself."""


@dataclass(frozen=True)
class Notice:
    """``period_until``: for reminders and expiry, the end of the period the notice is
    about; it is sent only if the user's access still ends then (not renewed since)."""

    id: str
    telegram_id: int
    kind: Kind
    due: datetime
    period_until: datetime | None = None
    values: dict[str, str | int] = field(default_factory=dict)
    buttons: tuple[Button, ...] = ()


def days_left(until: datetime, now: datetime) -> int:
    """Whole days left, rounded up (23 hours left is "1 day")."""
    remaining = until - now
    return max(0, -(-remaining // timedelta(days=1)))


def still_relevant(notice: Notice, current_until: datetime | None, now: datetime) -> str | None:
    """None when the notice should go out now; otherwise why it is skipped."""
    if notice.period_until is None:
        return None
    if current_until is None:
        return "the user has no access period any more"
    if abs(current_until - notice.period_until) > timedelta(milliseconds=1):
        return "the access period changed since this was planned (renewed or shortened)"
    if notice.kind is Kind.EXPIRED and current_until > now:
        return "access has not ended yet"
    return None
