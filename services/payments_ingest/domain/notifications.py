"""What makes a YooKassa notification creditable, decided on the API's own word.

The notification body only says which object to look at: trust comes from re-fetching
that object from the YooKassa API. A payment is credited only when the API says it is
``succeeded`` and ``paid``; the Telegram id and plan come from its ``metadata`` (set when
we created it), or, for payments created without metadata, from the description in the
seed's format ("пользователь номер: <tg id>") with the plan found by its price.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from events.base import MAX_TELEGRAM_ID
from events.payments import PaymentCanceled, PaymentSucceeded, RefundSucceeded


@dataclass(frozen=True)
class Plan:
    """A plan on sale: how long it lasts and what it costs."""

    name: str
    months: int
    price: Decimal
    currency: str
    days: int = 0


class NotCreditable(ValueError):
    """The API does not confirm the notification; ``retry`` says whether YooKassa should
    send it again (the object may still change) or not (it never will)."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


_DESCRIPTION_ID = re.compile(r"пользователь\s+номер\s*:\s*([0-9]+)", re.IGNORECASE)
_TELEGRAM_ID = re.compile(r"[0-9]{1,16}")


def _amount(obj: dict[str, Any]) -> tuple[Decimal, str]:
    amount = obj.get("amount") or {}
    try:
        return Decimal(str(amount["value"])), str(amount["currency"])
    except (KeyError, InvalidOperation, TypeError) as error:
        raise NotCreditable("the API object has no valid amount", retry=False) from error


def telegram_id_of(payment: dict[str, Any]) -> int:
    metadata = payment.get("metadata") or {}
    raw = metadata.get("telegram_id")
    if raw is None:
        match = _DESCRIPTION_ID.search(str(payment.get("description") or ""))
        raw = match.group(1) if match else None
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if raw is None or not _TELEGRAM_ID.fullmatch(str(raw)):
        raise NotCreditable("the payment names no Telegram user", retry=False)
    telegram_id = int(str(raw))
    if not 0 < telegram_id < MAX_TELEGRAM_ID:
        raise NotCreditable("the payment names no Telegram user", retry=False)
    return telegram_id


def plan_of(payment: dict[str, Any], plans: dict[str, Plan]) -> Plan:
    name = (payment.get("metadata") or {}).get("plan")
    if name is not None:
        if name not in plans:
            raise NotCreditable(f"unknown plan {name!r} in the payment's metadata", retry=False)
        return plans[name]
    value, currency = _amount(payment)
    matching = [p for p in plans.values() if p.price == value and p.currency == currency]
    if len(matching) != 1:
        raise NotCreditable(f"no single plan costs {value} {currency}", retry=False)
    return matching[0]


def succeeded(
    payment: dict[str, Any], plans: dict[str, Plan], paid_at: datetime
) -> PaymentSucceeded:
    """The event for a payment the API confirms as succeeded and paid."""
    status = payment.get("status")
    if status != "succeeded" or payment.get("paid") is not True:
        raise NotCreditable(
            f"the API says the payment is {status!r} (paid={payment.get('paid')!r})",
            retry=status in {"pending", "waiting_for_capture"},
        )
    value, currency = _amount(payment)
    plan = plan_of(payment, plans)
    return PaymentSucceeded(
        telegram_id=telegram_id_of(payment),
        payment_id=str(payment["id"]),
        plan=plan.name,
        months=plan.months,
        days=plan.days,
        amount=value,
        currency=currency,
        paid_at=paid_at,
    )


def canceled(payment: dict[str, Any]) -> PaymentCanceled:
    if payment.get("status") != "canceled":
        raise NotCreditable(f"the API says the payment is {payment.get('status')!r}", retry=False)
    details = payment.get("cancellation_details") or {}
    return PaymentCanceled(
        telegram_id=telegram_id_of(payment),
        payment_id=str(payment["id"]),
        reason=details.get("reason"),
    )


def refunded(refund: dict[str, Any], payment: dict[str, Any], at: datetime) -> RefundSucceeded:
    if refund.get("status") != "succeeded":
        raise NotCreditable(
            f"the API says the refund is {refund.get('status')!r}",
            retry=refund.get("status") == "pending",
        )
    if refund.get("payment_id") != payment.get("id"):
        raise NotCreditable("the refund belongs to another payment", retry=False)
    value, currency = _amount(refund)
    return RefundSucceeded(
        telegram_id=telegram_id_of(payment),
        payment_id=str(payment["id"]),
        refund_id=str(refund["id"]),
        amount=value,
        currency=currency,
        refunded_at=at,
    )
