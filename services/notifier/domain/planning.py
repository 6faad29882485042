"""From events to notices: what each fact means for the user's inbox.

Immediate notices get ids from their cause event (a redelivered event plans nothing
new); period notices (reminders before the end, the expiry notice at the end) get ids
from (user, threshold, until), so each period has one of each, and a renewal plans a
new set for the new end while the old set is skipped at send time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from events import Envelope, Event
from events.admin_commands import TestNotificationRequested
from events.payments import GiftPurchased, PaymentCanceled, RenewalDeclined
from events.subscriptions import (
    AdjustmentRejected,
    ExtensionReason,
    PromoCodeRefused,
    PromoRefusal,
    ReferralBonusCredited,
    SubscriptionExtended,
    SubscriptionShortened,
    TrialActivated,
    UserBlockChanged,
)
from services.notifier.domain.notices import Button, Kind, Notice

_CONNECT: tuple[Button, ...] = (("menu", "connect"), ("menu", "profile"))
_BUY: tuple[Button, ...] = (("menu", "buy"),)
_PROMO_REFUSED = {
    PromoRefusal.UNKNOWN: Kind.PROMO_UNKNOWN,
    PromoRefusal.EXPIRED: Kind.PROMO_EXPIRED,
    PromoRefusal.USED_UP: Kind.PROMO_USED_UP,
    PromoRefusal.ALREADY_USED: Kind.PROMO_ALREADY_USED,
    PromoRefusal.OWN_GIFT: Kind.GIFT_OWN,
}
_GIFT_REFUSED = {
    PromoRefusal.UNKNOWN: Kind.GIFT_UNKNOWN,
    PromoRefusal.EXPIRED: Kind.GIFT_UNKNOWN,
    PromoRefusal.USED_UP: Kind.GIFT_CLAIMED,
    PromoRefusal.ALREADY_USED: Kind.GIFT_CLAIMED,
    PromoRefusal.OWN_GIFT: Kind.GIFT_OWN,
}


def _date(moment: datetime) -> str:
    return f"{moment:%d.%m.%Y %H:%M} UTC"


def _promo_notice(event: PromoCodeRefused | GiftPurchased) -> tuple[Kind, dict[str, str]]:
    """A refused code (a gift's link, in the words of gifts), or a gift paid, for its
    buyer: the notice's kind and values."""
    if isinstance(event, GiftPurchased):
        return Kind.GIFT_PAID, {"plan": event.plan}
    kinds = _GIFT_REFUSED if event.gift else _PROMO_REFUSED
    return kinds[event.reason], {"code": event.code}


def period_notices(
    telegram_id: int,
    until: datetime,
    planned_at: datetime,
    reminders: Sequence[timedelta],
    *,
    warn_now: bool = False,
) -> list[Notice]:
    """Reminders ``reminders`` before ``until`` (those still ahead) and the expiry notice.

    With ``warn_now``, an end that already lies inside a reminder window (access was cut
    to end in two days, say) gets that window's reminder at once: the tightest window
    passed, since the user would otherwise hear nothing until the next one or the end.
    """
    stamp = until.isoformat()
    due = {before: until - before for before in reminders if until - before > planned_at}
    passed = [before for before in reminders if until - before <= planned_at]
    if warn_now and passed and until > planned_at:
        due[min(passed)] = planned_at
    notices = [
        Notice(
            id=f"{telegram_id}:reminder:{int(before.total_seconds())}:{stamp}",
            telegram_id=telegram_id,
            kind=Kind.REMINDER,
            due=when,
            period_until=until,
            values={"until": _date(until)},
            buttons=_BUY,
        )
        for before, when in sorted(due.items(), reverse=True)
    ]
    notices.append(
        Notice(
            id=f"{telegram_id}:expired:{stamp}",
            telegram_id=telegram_id,
            kind=Kind.EXPIRED,
            due=until,
            period_until=until,
            values={"until": _date(until)},
            buttons=_BUY,
        )
    )
    return notices


def plan(
    envelope: Envelope[Event], reminders: Sequence[timedelta], regions: Sequence[str]
) -> list[Notice]:
    """The notices an event implies (none for events that tell the user nothing)."""
    event, at = envelope.payload, envelope.occurred_at

    def now(kind: Kind, to: int, buttons: tuple[Button, ...] = (), **values: str | int) -> Notice:
        return Notice(f"{envelope.event_id}:{kind}", to, kind, at, None, values, buttons)

    match event:
        case TrialActivated():
            return [now(Kind.TRIAL, event.telegram_id, _CONNECT, until=_date(event.until)),
                    *period_notices(event.telegram_id, event.until, at, reminders)]  # fmt: skip
        case SubscriptionExtended():
            immediate = {
                ExtensionReason.PAYMENT: Kind.FIRST_PAYMENT
                if event.first_purchase
                else Kind.RENEWAL,
                ExtensionReason.ADMIN: Kind.ADMIN_EXTENDED,
                ExtensionReason.PROMO: Kind.PROMO,
                ExtensionReason.GIFT: Kind.GIFT,
            }.get(event.reason)
            buttons = (
                tuple(("region", r) for r in regions)
                if immediate is Kind.FIRST_PAYMENT
                else _CONNECT
            )
            told = (
                [now(immediate, event.telegram_id, buttons, until=_date(event.until))]
                if immediate
                else []
            )
            return [*told, *period_notices(event.telegram_id, event.until, at, reminders)]
        case SubscriptionShortened():
            told = (
                [now(Kind.REFUND, event.telegram_id, until=_date(event.until))]
                if event.reason == "refund"
                else []
            )
            # An admin's cut says nothing of its own: a reminder tells the user if the
            # new end is already close.
            period = period_notices(
                event.telegram_id, event.until, at, reminders, warn_now=not told
            )
            return [*told, *period]
        case ReferralBonusCredited():
            return [
                now(Kind.REFERRAL, event.telegram_id, days=event.days, until=_date(event.until))
            ]
        case PaymentCanceled():
            return [now(Kind.CANCELED, event.telegram_id, _BUY)]
        case PromoCodeRefused() | GiftPurchased():
            kind, values = _promo_notice(event)
            return [now(kind, event.telegram_id, (), **values)]
        case RenewalDeclined() if event.attempt == 0:
            # Told once, at the first decline: the retries that follow are silent.
            return [
                now(Kind.RENEWAL_DECLINED, event.telegram_id, _BUY, until=_date(event.period_end))
            ]
        case UserBlockChanged():
            if event.blocked:
                return [now(Kind.SUSPENDED, event.telegram_id)]
            return [now(Kind.RESTORED, event.telegram_id, _CONNECT)]
        case AdjustmentRejected():
            return [
                now(
                    Kind.REJECTED,
                    event.admin_id,
                    telegram_id=event.telegram_id,
                    reason=event.reason,
                )
            ]
        case TestNotificationRequested():
            notice = now(Kind.TEST, event.telegram_id, text=event.text)
            return [
                Notice(
                    notice.id,
                    notice.telegram_id,
                    notice.kind,
                    at + timedelta(seconds=event.delay_seconds),
                    None,
                    notice.values,
                )
            ]
        case _:
            return []
