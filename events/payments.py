"""``payments``: money that moved, confirmed by the payment provider.

Written by services/payments_ingest (YooKassa) and by the bot (Telegram Stars, provider
``telegram_stars``: the bot is where Telegram reports them), with ids derived from the
provider's payment id (a Stars payment's charge id), so a redelivered webhook or update
yields the same event id.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from events.base import Event, PromoCode, TelegramId

TOPIC = "payments"

Money = Decimal


class PaymentSucceeded(Event):
    """A payment is confirmed succeeded and paid by the provider's API."""

    event_type: ClassVar[str] = "PaymentSucceeded"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    payment_id: str = Field(min_length=1, max_length=128)
    provider: str = Field(default="yookassa", min_length=1)
    plan: str = Field(min_length=1, max_length=64)
    months: int = Field(ge=0, le=120)
    days: int = Field(default=0, ge=0, le=3660)
    amount: Money = Field(ge=0, decimal_places=2)
    currency: str = Field(min_length=3, max_length=3)
    paid_at: AwareDatetime


class GiftPurchased(Event):
    """A payment for a gift is confirmed: its plan goes not to the buyer but, once, to
    the first other user who opens the gift's link (``start=gift_<code>``).

    ``code`` is the gift's unguessable name, chosen when the order was placed; the event
    is keyed by it, like every opening of the link (``PromoCodeEntered`` with ``gift``),
    so one worker creates the gift and decides who gets it.
    """

    event_type: ClassVar[str] = "GiftPurchased"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    code: PromoCode
    payment_id: str = Field(min_length=1, max_length=128)
    provider: str = Field(default="yookassa", min_length=1)
    plan: str = Field(min_length=1, max_length=64)
    months: int = Field(ge=0, le=120)
    days: int = Field(default=0, ge=0, le=3660)
    amount: Money = Field(ge=0, decimal_places=2)
    currency: str = Field(min_length=3, max_length=3)
    paid_at: AwareDatetime

    def partition_key(self) -> str:
        return self.code


class PaymentCanceled(Event):
    """A payment was canceled; the user is told what to do."""

    event_type: ClassVar[str] = "PaymentCanceled"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    payment_id: str = Field(min_length=1, max_length=128)
    provider: str = Field(default="yookassa", min_length=1)
    reason: str | None = None


class RefundSucceeded(Event):
    """Money of a payment went back to the user; what that payment added is taken back."""

    event_type: ClassVar[str] = "RefundSucceeded"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    payment_id: str = Field(min_length=1, max_length=128)
    refund_id: str = Field(min_length=1, max_length=128)
    provider: str = Field(default="yookassa", min_length=1)
    amount: Money = Field(ge=0, decimal_places=2)
    currency: str = Field(min_length=3, max_length=3)
    refunded_at: AwareDatetime


class HoldReason(StrEnum):
    """Why a paid payment was held instead of credited."""

    NO_ORDER = "no_order"  # not created through our POST /payments (or the order is gone)
    AMOUNT_MISMATCH = "amount_mismatch"  # amount or currency differ from the order's price
    ORDER_MISMATCH = "order_mismatch"  # metadata names another user or plan than the order
    NO_USER = "no_user"  # names no Telegram user at all


class PaymentHeld(Event):
    """A paid payment that is not credited as a plan: no order of ours, or it does not
    match its order. It waits for an admin to grant or refund it.

    ``telegram_id`` and ``plan`` are what the order (else the payment's metadata) claims,
    None when nothing usable is claimed; the event is then keyed by the payment id.
    """

    event_type: ClassVar[str] = "PaymentHeld"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId | None = Field(default=None, gt=0)
    payment_id: str = Field(min_length=1, max_length=128)
    provider: str = Field(default="yookassa", min_length=1)
    amount: Money = Field(ge=0, decimal_places=2)
    currency: str = Field(min_length=3, max_length=3)
    plan: str | None = Field(default=None, max_length=64)
    metadata: dict[str, str] = Field(default_factory=dict)
    reason: HoldReason
    paid_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.telegram_id) if self.telegram_id is not None else self.payment_id


class HeldPaymentRefunded(Event):
    """A refund of a held payment that names no user: no ledger has time to take back,
    only the held payment to close. Keyed by the payment id, like the ``PaymentHeld`` it
    closes (a refund of a payment that names a user is a :class:`RefundSucceeded`)."""

    event_type: ClassVar[str] = "HeldPaymentRefunded"
    topic: ClassVar[str] = TOPIC

    payment_id: str = Field(min_length=1, max_length=128)
    refund_id: str = Field(min_length=1, max_length=128)
    provider: str = Field(default="yookassa", min_length=1)
    amount: Money = Field(ge=0, decimal_places=2)
    currency: str = Field(min_length=3, max_length=3)
    refunded_at: AwareDatetime

    def partition_key(self) -> str:
        return self.payment_id


class PaymentMethodSaved(Event):
    """A paid payment of ours made with ``save_payment_method`` saved the payer's method:
    it can be charged again without the payer (the renewal of ``plan``)."""

    event_type: ClassVar[str] = "PaymentMethodSaved"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    payment_id: str = Field(min_length=1, max_length=128)
    method_id: str = Field(min_length=1, max_length=64)
    provider: str = Field(default="yookassa", min_length=1)
    plan: str = Field(min_length=1, max_length=64)
    saved_at: AwareDatetime


class RenewalDeclined(Event):
    """A renewal charge of a saved method was declined: attempt ``attempt`` for access
    ending at ``period_end`` (a declined renewal is told as this, never as a
    :class:`PaymentCanceled`)."""

    event_type: ClassVar[str] = "RenewalDeclined"
    topic: ClassVar[str] = TOPIC

    telegram_id: TelegramId = Field(gt=0)
    payment_id: str = Field(min_length=1, max_length=128)
    provider: str = Field(default="yookassa", min_length=1)
    period_end: AwareDatetime
    attempt: int = Field(ge=0)
    reason: str | None = None
