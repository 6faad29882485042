"""Payments and refunds as YooKassa keeps them, and the moves between their statuses.

Pure: no I/O and no clock. Every transition takes ``now`` and raises :class:`ApiProblem`
where YooKassa would refuse the request, so the HTTP layer only renders the outcome.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

CAPTURE_WINDOW = timedelta(days=7)
"""How long YooKassa holds an authorised two-stage payment before it cancels it."""

CANCELLATION_PARTIES = frozenset({"merchant", "yoo_money", "payment_network"})
CANCELLATION_REASONS = frozenset({
    "3d_secure_failed", "call_issuer", "canceled_by_merchant", "card_expired",
    "country_forbidden", "deal_expired", "expired_on_capture", "expired_on_confirmation",
    "fraud_suspected", "general_decline", "identification_required", "insufficient_funds",
    "internal_timeout", "invalid_card_number", "invalid_csc", "issuer_unavailable",
    "payment_method_limit_exceeded", "payment_method_restricted", "permission_revoked",
    "unsupported_mobile_operator",
})  # fmt: skip


class ApiProblem(Exception):
    """A request YooKassa answers with an error object instead of the resource."""

    def __init__(
        self, status: int, code: str, description: str, parameter: str | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.parameter = parameter


def invalid_request(description: str, parameter: str | None = None) -> ApiProblem:
    return ApiProblem(400, "invalid_request", description, parameter)


def yookassa_id(kind: str, now: datetime) -> str:
    """A 36-character id shaped like YooKassa's: creation time, object kind, randomness."""
    variant = secrets.choice(("8000", "9000", "a000", "b000"))
    return f"{int(now.timestamp()):08x}-{kind}-5000-{variant}-{secrets.token_hex(6)}"


@dataclass(frozen=True)
class Money:
    value: Decimal
    currency: str


@dataclass(frozen=True)
class Cancellation:
    party: str
    reason: str


@dataclass(frozen=True)
class NewPayment:
    """What a valid ``POST /v3/payments`` asks for."""

    amount: Money
    description: str | None
    metadata: dict[str, str]
    capture: bool
    return_url: str | None
    save_payment_method: bool = False
    payment_method_id: str | None = None
    """A saved method to charge without the payer (a recurring payment)."""


@dataclass
class SavedMethod:
    """A payment method saved by a payment made with ``save_payment_method``; the next
    ``declines`` charges with it are declined with ``reason`` (the payer's bank says no)."""

    id: str
    declines: int = 0
    reason: str = "insufficient_funds"


@dataclass
class Payment:
    id: str
    amount: Money
    description: str | None
    metadata: dict[str, str]
    capture: bool
    return_url: str | None
    created_at: datetime
    status: str = "pending"
    paid: bool = False
    captured_at: datetime | None = None
    expires_at: datetime | None = None
    cancellation: Cancellation | None = None
    refunded: Decimal = Decimal("0.00")
    method_id: str = ""
    """The id of the method it is paid with: a new one for each payment, or a saved one."""
    save_method: bool = False
    method_saved: bool = False
    recurring: bool = False

    @property
    def refundable(self) -> Decimal:
        """What can still be refunded: nothing unless the payment succeeded."""
        return self.amount.value - self.refunded if self.status == "succeeded" else Decimal(0)


@dataclass(frozen=True)
class Refund:
    id: str
    payment_id: str
    amount: Money
    description: str | None
    metadata: dict[str, str]
    created_at: datetime
    status: str = "succeeded"


@dataclass
class Ledger:
    """Every payment and refund of the emulated shop, by id."""

    new_id: Callable[[str, datetime], str] = yookassa_id
    payments: dict[str, Payment] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    methods: dict[str, SavedMethod] = field(default_factory=dict)

    def payment(self, payment_id: str) -> Payment:
        if payment_id not in self.payments:
            raise ApiProblem(404, "not_found", f"Payment {payment_id} doesn't exist")
        return self.payments[payment_id]

    def refund(self, refund_id: str) -> Refund:
        if refund_id not in self.refunds:
            raise ApiProblem(404, "not_found", f"Refund {refund_id} doesn't exist")
        return self.refunds[refund_id]

    def method(self, method_id: str) -> SavedMethod:
        if method_id not in self.methods:
            raise invalid_request(
                f"Payment method {method_id} is not saved or doesn't exist", "payment_method_id"
            )
        return self.methods[method_id]

    def create_payment(self, request: NewPayment, now: datetime) -> Payment:
        """A pending payment for the payer to confirm; one with a saved method is charged
        at once, without the payer: succeeded (or held), or canceled when the method's
        bank declines it."""
        saved = (
            None if request.payment_method_id is None else self.method(request.payment_method_id)
        )
        payment = Payment(
            id=self.new_id("000f", now),
            amount=request.amount,
            description=request.description,
            metadata=dict(request.metadata),
            capture=request.capture,
            return_url=None if saved else request.return_url,
            created_at=now,
            method_id=saved.id if saved else self.new_id("0010", now),
            save_method=request.save_payment_method and saved is None,
            method_saved=saved is not None,
            recurring=saved is not None,
        )
        self.payments[payment.id] = payment
        if saved is None:
            return payment
        if saved.declines > 0:
            saved.declines -= 1
            payment.status = "canceled"
            payment.cancellation = Cancellation("payment_network", saved.reason)
            return payment
        return self.pay(payment.id, now)

    def decline(self, method_id: str, times: int, reason: str) -> SavedMethod:
        """The method's bank declines its next ``times`` charges (0: none)."""
        saved = self.method(method_id)
        saved.declines, saved.reason = times, reason
        return saved

    def pay(self, payment_id: str, now: datetime) -> Payment:
        """The payer pays: captured at once, or held for capture when ``capture`` was off.
        A payment made with ``save_payment_method`` saves its method."""
        payment = self._in_status(payment_id, {"pending"}, "paid")
        payment.paid = True
        if payment.save_method:
            payment.method_saved = True
            self.methods.setdefault(payment.method_id, SavedMethod(payment.method_id))
        if payment.capture:
            payment.status, payment.captured_at = "succeeded", now
        else:
            payment.status, payment.expires_at = "waiting_for_capture", now + CAPTURE_WINDOW
        return payment

    def capture(self, payment_id: str, amount: Money | None, now: datetime) -> Payment:
        """The shop takes the held money: all of it, or less (the rest goes back)."""
        payment = self._in_status(payment_id, {"waiting_for_capture"}, "captured")
        if amount is not None:
            if amount.currency != payment.amount.currency:
                raise invalid_request("Capture currency differs from the payment's", "amount")
            if amount.value > payment.amount.value:
                raise invalid_request("Capture amount exceeds the payment amount", "amount")
            payment.amount = amount
        payment.status, payment.captured_at, payment.expires_at = "succeeded", now, None
        return payment

    def cancel(self, payment_id: str, cancellation: Cancellation, *, by_merchant: bool) -> Payment:
        """The shop may cancel only held payments; the outside world may cancel pending ones."""
        allowed = {"waiting_for_capture"} if by_merchant else {"pending", "waiting_for_capture"}
        payment = self._in_status(payment_id, allowed, "canceled")
        payment.status, payment.paid, payment.expires_at = "canceled", False, None
        payment.cancellation = cancellation
        return payment

    def refund_payment(
        self,
        payment_id: str,
        amount: Money | None,
        description: str | None,
        metadata: dict[str, str],
        now: datetime,
    ) -> Refund:
        """Refund a succeeded payment, never more than is left of it; ``None`` means all."""
        payment = self._in_status(payment_id, {"succeeded"}, "refunded")
        if payment.refundable <= 0:
            raise invalid_request(f"Payment {payment_id} is already fully refunded", "amount")
        amount = amount or Money(payment.refundable, payment.amount.currency)
        if amount.currency != payment.amount.currency:
            raise invalid_request("Refund currency differs from the payment's", "amount")
        if amount.value > payment.refundable:
            raise invalid_request(
                f"Refund amount exceeds what is left to refund ({payment.refundable})", "amount"
            )
        payment.refunded += amount.value
        refund = Refund(
            self.new_id("0015", now), payment_id, amount, description, dict(metadata), now
        )
        self.refunds[refund.id] = refund
        return refund

    def _in_status(self, payment_id: str, allowed: set[str], action: str) -> Payment:
        payment = self.payment(payment_id)
        if payment.status not in allowed:
            raise invalid_request(
                f"Payment {payment_id} has status {payment.status}; only a payment with status "
                f"{' or '.join(sorted(allowed))} can be {action}",
                "payment_id",
            )
        return payment
