"""Telegram Stars: what an invoice says, and when a Stars payment is credited as its plan.

The bot writes the plan, its Stars price and the buyer into the invoice payload, which
Telegram hands back in the pre-checkout query and in the successful payment. A payment
is credited as the plan only when it matches the plans on sale exactly (the plan still
offered in Stars, at the same price, in ``XTR``, paid by the user it was made for);
anything else is held for an admin, as a YooKassa payment that does not match its order.
Pure functions: a redelivered payment is decided the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from events.base import MAX_TELEGRAM_ID
from events.payments import HoldReason, PaymentHeld, PaymentSucceeded, RefundSucceeded
from keyland.plans import PlanSpec

STARS = "XTR"
TITLE_MAX = 32  # Telegram's limit on an invoice title
PROVIDER = "telegram_stars"
_CHARGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_PAYLOAD = re.compile(r"^stars:([A-Za-z0-9_]{1,32}):([1-9][0-9]{0,5}):([1-9][0-9]{0,15})$")


@dataclass(frozen=True)
class InvoiceTerms:
    """What the bot asked for in one invoice."""

    plan: str
    stars: int
    telegram_id: int

    @property
    def payload(self) -> str:
        """The invoice payload (at most 60 bytes; Telegram allows 128)."""
        return f"stars:{self.plan}:{self.stars}:{self.telegram_id}"

    @classmethod
    def parse(cls, payload: str) -> InvoiceTerms | None:
        """The terms of one of our payloads, or None for any other text."""
        found = _PAYLOAD.fullmatch(payload)
        if found is None:
            return None
        return cls(plan=found[1], stars=int(found[2]), telegram_id=int(found[3]))


def offered(plans: Mapping[str, PlanSpec]) -> dict[str, PlanSpec]:
    """The plans sold in Stars: those with a Stars price."""
    return {name: plan for name, plan in plans.items() if plan.stars is not None}


def invoice(plans: Mapping[str, PlanSpec], plan: str, telegram_id: int) -> InvoiceTerms | None:
    """The invoice for ``plan``, or None when the plan is not sold in Stars."""
    spec = plans.get(plan)
    if spec is None or spec.stars is None:
        return None
    return InvoiceTerms(plan=plan, stars=spec.stars, telegram_id=telegram_id)


def mismatch(
    plans: Mapping[str, PlanSpec], payer_id: int, currency: str, total: int, payload: str
) -> HoldReason | None:
    """Why a Stars payment (or its pre-checkout query) does not buy its plan, or None
    when it does: the payload is ours, names the payer, and the plan is on sale in Stars
    at exactly the price paid."""
    terms = InvoiceTerms.parse(payload)
    if terms is None:
        return HoldReason.NO_ORDER
    if terms.telegram_id != payer_id:
        return HoldReason.ORDER_MISMATCH
    spec = plans.get(terms.plan)
    if spec is None or spec.stars is None:
        return HoldReason.ORDER_MISMATCH
    if currency != STARS or not total == terms.stars == spec.stars:
        return HoldReason.AMOUNT_MISMATCH
    return None


@dataclass(frozen=True)
class StarsPayment:
    """A ``successful_payment`` as Telegram reports it."""

    payer_id: int
    charge_id: str
    currency: str
    total: int
    payload: str
    paid_at: datetime


def settle(plans: Mapping[str, PlanSpec], paid: StarsPayment) -> PaymentSucceeded | PaymentHeld:
    """Credit for the invoice's plan when the payment matches it exactly, else held."""
    amount = Decimal(paid.total)
    reason = mismatch(plans, paid.payer_id, paid.currency, paid.total, paid.payload)
    terms = InvoiceTerms.parse(paid.payload)
    if reason is None and terms is not None:
        spec = plans[terms.plan]
        return PaymentSucceeded(
            telegram_id=paid.payer_id,
            payment_id=paid.charge_id,
            provider=PROVIDER,
            plan=terms.plan,
            months=spec.months,
            days=spec.days,
            amount=amount,
            currency=paid.currency,
            paid_at=paid.paid_at,
        )
    return PaymentHeld(
        telegram_id=paid.payer_id,
        payment_id=paid.charge_id,
        provider=PROVIDER,
        amount=amount,
        currency=paid.currency,
        plan=terms.plan if terms is not None else None,
        metadata={"invoice_payload": paid.payload[:128]},
        reason=reason or HoldReason.NO_ORDER,
        paid_at=paid.paid_at,
    )


PAID, REFUNDED = "paid", "refunded"


class Published:
    """What this process published about Stars payments (Kafka acknowledged it): which
    charges were ``PAID`` and ``REFUNDED``, with their dates. Reading the payments back
    skips those, and forgets what is older than it reads, so no more than one window is
    kept."""

    def __init__(self) -> None:
        self._at: dict[tuple[str, str], datetime] = {}

    def add(self, kind: str, charge_id: str, at: datetime) -> None:
        self._at[kind, charge_id] = at

    def knows(self, kind: str, charge_id: str) -> bool:
        return (kind, charge_id) in self._at

    def __len__(self) -> int:
        return len(self._at)

    def forget_before(self, since: datetime) -> None:
        self._at = {key: at for key, at in self._at.items() if at >= since}


def refund(telegram_id: int, charge_id: str, amount: Decimal, at: datetime) -> RefundSucceeded:
    """A Stars refund: always the whole payment, at most once per charge (the charge id
    is also the refund's id)."""
    return RefundSucceeded(
        telegram_id=telegram_id,
        payment_id=charge_id,
        refund_id=charge_id,
        provider=PROVIDER,
        amount=amount,
        currency=STARS,
        refunded_at=at,
    )


@dataclass(frozen=True)
class RefundOrder:
    """An admin's ``/refund_stars <telegram id> <charge id>``."""

    telegram_id: int
    charge_id: str

    @classmethod
    def parse(cls, args: str | None) -> RefundOrder | None:
        """The order the command's arguments give, or None when they give none."""
        words = (args or "").split()
        if len(words) != 2 or not words[0].isascii() or not words[0].isdigit():
            return None
        telegram_id, charge_id = int(words[0]), words[1]
        if not 0 < telegram_id < MAX_TELEGRAM_ID or not _CHARGE_ID.match(charge_id):
            return None
        return cls(telegram_id, charge_id)
