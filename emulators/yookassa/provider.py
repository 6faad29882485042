"""The emulated shop: each operation changes state, renders it and notifies the webhook."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from emulators.yookassa import wire
from emulators.yookassa.delivery import Clock, Deliverer, Delivery
from emulators.yookassa.idempotency import IdempotenceKeys
from emulators.yookassa.state import Cancellation, Ledger, Money, NewPayment

MERCHANT_CANCELLATION = Cancellation("merchant", "canceled_by_merchant")
_EVENTS = {
    "succeeded": "payment.succeeded",
    "waiting_for_capture": "payment.waiting_for_capture",
    "canceled": "payment.canceled",
}


@dataclass(frozen=True)
class Outcome:
    """The object as it now is, and the notifications it queued."""

    subject: dict[str, Any]
    deliveries: list[Delivery]

    def to_json(self) -> dict[str, Any]:
        return {"object": self.subject, "deliveries": [d.to_json() for d in self.deliveries]}


class Provider:
    """Operations of the v3 API and of the outside world, on one in-memory ledger."""

    def __init__(self, shop: wire.Shop, deliverer: Deliverer, clock: Clock) -> None:
        self.shop = shop
        self.deliverer = deliverer
        self.clock = clock
        self.ledger = Ledger()
        self.keys = IdempotenceKeys()

    def payment(self, payment_id: str) -> dict[str, Any]:
        return wire.payment(self.ledger.payment(payment_id), self.shop)

    def refund(self, refund_id: str) -> dict[str, Any]:
        return wire.refund(self.ledger.refund(refund_id))

    def create_payment(self, request: NewPayment) -> dict[str, Any]:
        """A new pending payment, for which YooKassa sends no notification; or a payment
        with a saved method, charged at once and announced (succeeded or canceled)."""
        created = self.ledger.create_payment(request, self.clock())
        subject = wire.payment(created, self.shop)
        if created.recurring:
            self._announce(_EVENTS[created.status], subject, 1)
        return subject

    def decline(self, method_id: str, times: int, reason: str) -> dict[str, Any]:
        """The saved method's next ``times`` charges are declined with ``reason``."""
        saved = self.ledger.decline(method_id, times, reason)
        return {"id": saved.id, "declines": saved.declines, "reason": saved.reason}

    def pay(self, payment_id: str, copies: int = 1) -> Outcome:
        """The payer pays on the checkout page."""
        paid = self.ledger.pay(payment_id, self.clock())
        event = "payment.succeeded" if paid.status == "succeeded" else "payment.waiting_for_capture"
        return self._announce(event, wire.payment(paid, self.shop), copies)

    def capture(self, payment_id: str, amount: Money | None) -> Outcome:
        captured = self.ledger.capture(payment_id, amount, self.clock())
        return self._announce("payment.succeeded", wire.payment(captured, self.shop), 1)

    def cancel(
        self,
        payment_id: str,
        cancellation: Cancellation = MERCHANT_CANCELLATION,
        *,
        by_merchant: bool = True,
        copies: int = 1,
    ) -> Outcome:
        canceled = self.ledger.cancel(payment_id, cancellation, by_merchant=by_merchant)
        return self._announce("payment.canceled", wire.payment(canceled, self.shop), copies)

    def refund_payment(
        self,
        payment_id: str,
        amount: Money | None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        copies: int = 1,
    ) -> Outcome:
        refund = self.ledger.refund_payment(
            payment_id, amount, description, metadata or {}, self.clock()
        )
        return self._announce("refund.succeeded", wire.refund(refund), copies)

    def _announce(self, event: str, subject: dict[str, Any], copies: int) -> Outcome:
        body = json.dumps(wire.notification(event, subject), ensure_ascii=False).encode()
        return Outcome(subject, self.deliverer.send(body, copies))
