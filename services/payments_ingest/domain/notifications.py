"""What makes a YooKassa notification creditable, decided on the API's own word.

The notification body only says which object to look at: trust comes from re-fetching
that object from the YooKassa API. A payment counts only when the API says it is
``succeeded`` and ``paid``. It is credited as a plan only when it is one of our orders
(``metadata.order_id``, placed by ``POST /payments`` before YooKassa was asked) and its
amount, currency, user and plan equal the order's: anyone with the shop's key can write
any metadata on any amount. Every other paid payment is held (:class:`PaymentHeld`) for
an admin, with the user it claims (order, metadata, or the seed's description
"пользователь номер: <tg id>") when it claims one.

An order may ask YooKassa to save the payer's method (``save_payment_method``): its paid
payment then also says which method was saved (:class:`PaymentMethodSaved`). A renewal
order charges such a method; its payment credits like any order's, and its
cancellation is a declined renewal (:class:`RenewalDeclined`), never a plain
:class:`PaymentCanceled`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from events.base import MAX_TELEGRAM_ID
from events.payments import (
    GiftPurchased,
    HeldPaymentRefunded,
    HoldReason,
    PaymentCanceled,
    PaymentHeld,
    PaymentMethodSaved,
    PaymentSucceeded,
    RefundSucceeded,
    RenewalDeclined,
)


@dataclass(frozen=True)
class Plan:
    """A plan on sale: how long it lasts and what it costs."""

    name: str
    months: int
    price: Decimal
    currency: str
    days: int = 0


MAX_PLAN_NAME = 64
MAX_METHOD_ID = 64


@dataclass(frozen=True)
class Renewal:
    """What a renewal order renews: access ending at ``period_end``, its ``attempt``
    (0 first, then retries after declines), charged to the saved method ``method_id``."""

    period_end: datetime
    attempt: int
    method_id: str


@dataclass(frozen=True)
class Order:
    """What we asked YooKassa for: the user and the plan at its price when it was placed;
    whether the payer's method is to be saved; for a renewal, what it renews; for a gift,
    the code of its link (``gift_code``), chosen then."""

    order_id: str
    telegram_id: int
    plan: Plan
    save_method: bool = False
    renewal: Renewal | None = None
    payment_id: str | None = None
    """The payment YooKassa made for it, recorded once known (renewal orders)."""
    gift_code: str | None = None


GIFT_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
GIFT_CODE_LENGTH = 32  # 36**32 ≈ 2**165: not guessable


def new_gift_code() -> str:
    """An unguessable name for a gift, fit for a deep link and a promo code."""
    return "".join(secrets.choice(GIFT_CODE_ALPHABET) for _ in range(GIFT_CODE_LENGTH))


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


def claimed_user(payment: dict[str, Any]) -> int | None:
    """The Telegram id the payment names, or None when it names none we could use."""
    try:
        return telegram_id_of(payment)
    except NotCreditable:
        return None


def settle(
    payment: dict[str, Any], order: Order | None, paid_at: datetime
) -> PaymentSucceeded | GiftPurchased | PaymentHeld:
    """A paid payment becomes credit for its order's plan (for a gift order, the gift)
    only when it matches the order exactly (user, plan, gift or not, amount, currency);
    anything else is held for an admin.

    A pure function of the payment (final once succeeded) and the order (never changed
    after it is placed), so a redelivered notification is decided the same way.
    """
    status = payment.get("status")
    if status != "succeeded" or payment.get("paid") is not True:
        raise NotCreditable(
            f"the API says the payment is {status!r} (paid={payment.get('paid')!r})",
            retry=status in {"pending", "waiting_for_capture"},
        )
    value, currency = _amount(payment)
    metadata = {str(k): str(v) for k, v in (payment.get("metadata") or {}).items()}
    reason = mismatch(order, metadata, value, currency)
    if order is not None and reason is None and order.gift_code is not None:
        return GiftPurchased(
            telegram_id=order.telegram_id,
            code=order.gift_code,
            payment_id=str(payment["id"]),
            plan=order.plan.name,
            months=order.plan.months,
            days=order.plan.days,
            amount=value,
            currency=currency,
            paid_at=paid_at,
        )
    if order is not None and reason is None:
        return PaymentSucceeded(
            telegram_id=order.telegram_id,
            payment_id=str(payment["id"]),
            plan=order.plan.name,
            months=order.plan.months,
            days=order.plan.days,
            amount=value,
            currency=currency,
            paid_at=paid_at,
        )
    claimed_plan = order.plan.name if order else metadata.get("plan")
    return PaymentHeld(
        telegram_id=order.telegram_id if order else claimed_user(payment),
        payment_id=str(payment["id"]),
        amount=value,
        currency=currency,
        plan=claimed_plan if claimed_plan and len(claimed_plan) <= MAX_PLAN_NAME else None,
        metadata=metadata,
        reason=reason or HoldReason.NO_ORDER,
        paid_at=paid_at,
    )


def mismatch(
    order: Order | None, metadata: dict[str, str], value: Decimal, currency: str
) -> HoldReason | None:
    """Why the payment does not credit ``order``'s plan, or None when it does."""
    if order is None:
        return HoldReason.NO_ORDER
    if (
        metadata.get("telegram_id") != str(order.telegram_id)
        or metadata.get("plan") != order.plan.name
        or metadata.get("gift") != order.gift_code
    ):
        return HoldReason.ORDER_MISMATCH
    if value != order.plan.price or currency != order.plan.currency:
        return HoldReason.AMOUNT_MISMATCH
    return None


def saved_method(
    payment: dict[str, Any],
    settled: PaymentSucceeded | GiftPurchased | PaymentHeld,
    order: Order | None,
) -> PaymentMethodSaved | None:
    """The method a credited payment saved, when its order asked to save one and the API
    says it is saved; None otherwise (a held payment or a gift saves nothing for us)."""
    if not isinstance(settled, PaymentSucceeded) or order is None or not order.save_method:
        return None
    method = payment.get("payment_method") or {}
    method_id = method.get("id")
    if method.get("saved") is not True or not isinstance(method_id, str):
        return None
    if not 0 < len(method_id) <= MAX_METHOD_ID:
        return None
    return PaymentMethodSaved(
        telegram_id=settled.telegram_id,
        payment_id=settled.payment_id,
        method_id=method_id,
        plan=settled.plan,
        saved_at=settled.paid_at,
    )


def canceled(payment: dict[str, Any], order: Order | None) -> PaymentCanceled | RenewalDeclined:
    """A canceled payment; for one of our renewal orders, a declined renewal."""
    if payment.get("status") != "canceled":
        raise NotCreditable(f"the API says the payment is {payment.get('status')!r}", retry=False)
    details = payment.get("cancellation_details") or {}
    if order is not None and order.renewal is not None:
        return RenewalDeclined(
            telegram_id=order.telegram_id,
            payment_id=str(payment["id"]),
            period_end=order.renewal.period_end,
            attempt=order.renewal.attempt,
            reason=details.get("reason"),
        )
    return PaymentCanceled(
        telegram_id=telegram_id_of(payment),
        payment_id=str(payment["id"]),
        reason=details.get("reason"),
    )


def refunded(
    refund: dict[str, Any], payment: dict[str, Any], order: Order | None, at: datetime
) -> RefundSucceeded | HeldPaymentRefunded:
    """A succeeded refund, for the user the payment was settled for (its order's, else
    the one its metadata or description names); a payment that names nobody was held
    under its own id, and its refund closes that held payment."""
    if refund.get("status") != "succeeded":
        raise NotCreditable(
            f"the API says the refund is {refund.get('status')!r}",
            retry=refund.get("status") == "pending",
        )
    if refund.get("payment_id") != payment.get("id"):
        raise NotCreditable("the refund belongs to another payment", retry=False)
    value, currency = _amount(refund)
    telegram_id = order.telegram_id if order else claimed_user(payment)
    if telegram_id is None:
        return HeldPaymentRefunded(
            payment_id=str(payment["id"]),
            refund_id=str(refund["id"]),
            amount=value,
            currency=currency,
            refunded_at=at,
        )
    return RefundSucceeded(
        telegram_id=telegram_id,
        payment_id=str(payment["id"]),
        refund_id=str(refund["id"]),
        amount=value,
        currency=currency,
        refunded_at=at,
    )
