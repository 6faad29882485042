"""The JSON YooKassa sends: payments, refunds, notifications and errors.

Field names, nesting and formats follow the v3 API, so ``yookassa.domain.response``
classes and ``WebhookNotificationFactory`` parse them as they parse YooKassa's own.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from emulators.yookassa.state import ApiProblem, Money, Payment, Refund

COMMISSION_RATE = Decimal("0.035")
"""What YooKassa keeps of a card payment; ``income_amount`` is the rest."""

TEST_CARD = {"first6": "555555", "last4": "4444", "card_type": "MasterCard", "issuer_country": "RU"}


@dataclass(frozen=True)
class Shop:
    """Who the payments are for, and where payers are sent to confirm them."""

    account_id: str
    gateway_id: str
    checkout_base_url: str


def timestamp(moment: datetime) -> str:
    """UTC with milliseconds and ``Z``, as in ``2026-11-27T09:30:00.000Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def money(amount: Money) -> dict[str, str]:
    return {"value": f"{amount.value:.2f}", "currency": amount.currency}


def payment(found: Payment, shop: Shop) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": found.id,
        "status": found.status,
        "paid": found.paid,
        "amount": money(found.amount),
        "recipient": {"account_id": shop.account_id, "gateway_id": shop.gateway_id},
        "created_at": timestamp(found.created_at),
        "test": True,
        "refundable": found.refundable > 0,
        "metadata": found.metadata,
    }
    if found.description is not None:
        body["description"] = found.description
    if found.status == "pending" and found.return_url is not None:
        body["confirmation"] = {
            "type": "redirect",
            "return_url": found.return_url,
            "confirmation_url": f"{shop.checkout_base_url}/checkout/{found.id}",
        }
    if found.paid:
        body |= _paid_details(found)
    elif found.recurring:
        body["payment_method"] = _method(found)
    if found.captured_at is not None:
        body["captured_at"] = timestamp(found.captured_at)
    if found.expires_at is not None:
        body["expires_at"] = timestamp(found.expires_at)
    if found.status == "succeeded":
        body["refunded_amount"] = money(Money(found.refunded, found.amount.currency))
    if found.cancellation is not None:
        body["cancellation_details"] = {
            "party": found.cancellation.party,
            "reason": found.cancellation.reason,
        }
    return body


def _paid_details(found: Payment) -> dict[str, Any]:
    """How the payer paid: always the same test card, with codes derived from the id."""
    commission = (found.amount.value * COMMISSION_RATE).quantize(Decimal("0.01"), ROUND_HALF_UP)
    digits = str(int(hashlib.sha256(found.id.encode()).hexdigest(), 16))
    card = TEST_CARD | {"expiry_month": "12", "expiry_year": str(found.created_at.year + 3)}
    return {
        "income_amount": money(Money(found.amount.value - commission, found.amount.currency)),
        "payment_method": _method(found) | {"card": card},
        "authorization_details": {
            "rrn": digits[:12],
            "auth_code": digits[12:18],
            "three_d_secure": {"applied": False},
        },
    }


def _method(found: Payment) -> dict[str, Any]:
    """The method the payment is made with; ``saved`` once it can be charged again."""
    return {
        "type": "bank_card",
        "id": found.method_id,
        "saved": found.method_saved,
        "title": f"Bank card *{TEST_CARD['last4']}",
    }


def refund(found: Refund) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": found.id,
        "payment_id": found.payment_id,
        "status": found.status,
        "created_at": timestamp(found.created_at),
        "amount": money(found.amount),
    }
    if found.description is not None:
        body["description"] = found.description
    if found.metadata:
        body["metadata"] = found.metadata
    return body


def notification(event: str, subject: dict[str, Any]) -> dict[str, Any]:
    return {"type": "notification", "event": event, "object": subject}


def error(problem: ApiProblem) -> dict[str, Any]:
    """The error object; its ``id`` is what YooKassa support would ask for."""
    body: dict[str, Any] = {
        "type": "error",
        "id": str(uuid.uuid4()),
        "code": problem.code,
        "description": problem.description,
    }
    if problem.parameter is not None:
        body["parameter"] = problem.parameter
    return body
