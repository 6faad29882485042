"""Payments ingest use cases: a notification in → at most one event to Kafka; a new payment."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from yookassa.domain.notification import WebhookNotificationFactory

from events import Envelope, Event, external_event_id
from events.payments import PaymentHeld
from keyland.kafka.producer import EventPublisher, PublishFailed
from services.payments_ingest.adapters import metrics
from services.payments_ingest.adapters.orders import Orders, OrdersUnavailable
from services.payments_ingest.adapters.yookassa_api import (
    ApiObject,
    YooKassaApi,
    YooKassaRefused,
    YooKassaUnavailable,
)
from services.payments_ingest.domain.notifications import (
    NotCreditable,
    Order,
    Plan,
    canceled,
    new_gift_code,
    refunded,
    settle,
)
from services.payments_ingest.domain.outcomes import (
    Accepted,
    PaymentCreated,
    Problem,
    RefundCreated,
    Refused,
)
from services.payments_ingest.domain.trust import Network

log = logging.getLogger(__name__)

PRODUCER = "payments_ingest"
ORDER_NAMESPACE = uuid.UUID("7c1e0f0a-3d52-5a8e-b6b1-9e2f4c8d0a37")
REFUND_NAMESPACE = uuid.UUID("3b9d2c61-0a4e-5f17-8c2b-6d7e9f1a2b45")
_OBJECT_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


class _Refusal(Exception):
    """Raised deep in a use case, answered as :class:`Refused` by its public method."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.outcome = Refused(problem, message)


def _time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as error:
        raise _Refusal(
            Problem.UNCONFIRMED, f"the API object has no valid time: {value!r}"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class IngestHandlers:
    api: YooKassaApi
    publisher: EventPublisher
    orders: Orders
    plans: dict[str, Plan]
    trusted_networks: Sequence[Network]
    trusted_proxies: Sequence[Network]
    return_url: str

    async def notification(self, body: Any) -> Accepted | Refused:
        """Turn one notification into its event, confirmed by the API; say what happened."""
        try:
            return await self._notification(body)
        except _Refusal as refusal:
            return refusal.outcome

    async def _notification(self, body: Any) -> Accepted:
        try:
            WebhookNotificationFactory().create(body)
            event, object_id = str(body["event"]), str(body["object"]["id"])
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as error:
            # ArithmeticError: the SDK parses amounts with Decimal ("Infinity" → InvalidOperation)
            raise _Refusal(Problem.MALFORMED, f"malformed notification: {error!r}") from error
        if not _OBJECT_ID.match(object_id):
            raise _Refusal(Problem.MALFORMED, "malformed object id")
        match event:
            case "payment.succeeded":
                payment = await self._fetch(self.api.payment, object_id)
                paid_at = _time(payment.get("captured_at") or payment.get("created_at"))
                order = await self._order_of(payment)
                return await self._publish(
                    lambda: settle(payment, order, paid_at), object_id, paid_at
                )
            case "payment.canceled":
                payment = await self._fetch(self.api.payment, object_id)
                return await self._publish(lambda: canceled(payment), object_id, datetime.now(UTC))
            case "refund.succeeded":
                refund = await self._fetch(self.api.refund, object_id)
                payment = await self._fetch(self.api.payment, str(refund.get("payment_id")))
                at = _time(refund.get("created_at"))
                order = await self._order_of(payment)
                return await self._publish(
                    lambda: refunded(refund, payment, order, at), object_id, at
                )
            case _:
                log.info("notification %s for %s needs nothing from us", event, object_id)
                return Accepted("ignored")

    async def _fetch(self, lookup: Any, object_id: str) -> ApiObject:
        try:
            found: ApiObject | None = await lookup(object_id)
        except YooKassaUnavailable as error:
            log.warning("YooKassa API unavailable: %s", error)
            raise _Refusal(
                Problem.UNAVAILABLE, "payment provider API unavailable; retry later"
            ) from error
        if found is None:
            raise _Refusal(Problem.UNCONFIRMED, f"the API does not know {object_id}")
        return found

    async def _order_of(self, payment: ApiObject) -> Order | None:
        """Our order the payment names (``metadata.order_id``), if there is one."""
        order_id = (payment.get("metadata") or {}).get("order_id")
        if not isinstance(order_id, str) or not _OBJECT_ID.match(order_id):
            return None
        try:
            return await self.orders.find(order_id)
        except OrdersUnavailable as error:
            log.warning("orders unavailable: %s", error)
            raise _Refusal(Problem.UNAVAILABLE, "order store unavailable; retry later") from error

    async def _publish(self, decide: Any, object_id: str, at: datetime) -> Accepted:
        try:
            payload: Event = decide()
        except NotCreditable as refusal:
            log.warning("notification for %s not creditable: %s", object_id, refusal)
            problem = Problem.CONFLICT if refusal.retry else Problem.UNCONFIRMED
            raise _Refusal(problem, str(refusal)) from refusal
        envelope = Envelope.new(
            payload,
            producer=PRODUCER,
            occurred_at=at,
            event_id=external_event_id("yookassa", object_id, payload.event_type),
        )
        try:
            await self.publisher.publish(envelope)
        except PublishFailed as error:
            log.warning("event %s not acknowledged by Kafka: %s", envelope.event_id, error)
            raise _Refusal(Problem.UNAVAILABLE, "event store unavailable; retry later") from error
        metrics.PAYMENT_EVENTS_PUBLISHED.labels(envelope.type).inc()
        log.info("published %s %s for %s", envelope.type, envelope.event_id, object_id)
        return Accepted("published")

    async def create_payment(
        self, telegram_id: int, plan_name: str, order_id: str, *, gift: bool = False
    ) -> PaymentCreated | Refused:
        """Create a YooKassa payment for a plan (``gift``: as a gift for someone else);
        the same order gives the same payment.

        The order (user, plan, price, and a gift's code) is recorded first, so the webhook
        can tell our payment at our price from any other payment on the shop.
        """
        try:
            return await self._create_payment(telegram_id, plan_name, order_id, gift)
        except _Refusal as refusal:
            return refusal.outcome

    async def _create_payment(
        self, telegram_id: int, plan_name: str, order_id: str, gift: bool
    ) -> PaymentCreated:
        plan = self.plans.get(plan_name)
        if plan is None:
            raise _Refusal(
                Problem.INVALID,
                f"unknown plan {plan_name!r}; plans: {', '.join(sorted(self.plans))}",
            )
        kind = ":gift" if gift else ""
        key = str(uuid.uuid5(ORDER_NAMESPACE, f"{telegram_id}:{plan.name}:{order_id}{kind}"))
        wanted = Order(
            order_id=key,
            telegram_id=telegram_id,
            plan=plan,
            gift_code=new_gift_code() if gift else None,
        )
        try:
            order = await self.orders.place(wanted, datetime.now(UTC))
        except OrdersUnavailable as error:
            log.warning("orders unavailable: %s", error)
            raise _Refusal(Problem.UNAVAILABLE, "order store unavailable; retry later") from error
        try:
            created = await self.api.create_payment(
                amount=order.plan.price,
                currency=order.plan.currency,
                description=f"Keyland {plan.name}, пользователь номер: {telegram_id}",
                metadata={
                    "telegram_id": str(telegram_id),
                    "plan": plan.name,
                    "order_id": key,
                    **({"gift": order.gift_code} if order.gift_code else {}),
                },
                return_url=self.return_url,
                idempotency_key=key,
            )
        except YooKassaUnavailable as error:
            raise _Refusal(
                Problem.UNAVAILABLE, "payment provider API unavailable; retry later"
            ) from error
        confirmation = created.get("confirmation") or {}
        return PaymentCreated(
            payment_id=str(created["id"]),
            status=str(created.get("status")),
            confirmation_url=str(confirmation.get("confirmation_url", "")),
            gift_code=order.gift_code,
        )

    async def refund_held(self, payment_id: str) -> RefundCreated | Refused:
        """Refund all of a held payment through YooKassa (an admin's decision).

        Only a payment that would be held is refunded here: one credited as a plan is
        refunded from the YooKassa dashboard, where its refund takes the time back. The
        idempotence key is derived from the payment, so asking twice refunds once; the
        refund's own notification then reaches the ledger as every refund does.
        """
        try:
            return await self._refund_held(payment_id)
        except _Refusal as refusal:
            return refusal.outcome

    async def _refund_held(self, payment_id: str) -> RefundCreated:
        if not _OBJECT_ID.match(payment_id):
            raise _Refusal(Problem.INVALID, "malformed payment id")
        payment = await self._fetch(self.api.payment, payment_id)
        paid_at = _time(payment.get("captured_at") or payment.get("created_at"))
        try:
            decided = settle(payment, await self._order_of(payment), paid_at)
        except NotCreditable as refusal:
            raise _Refusal(Problem.CONFLICT, f"not refundable here: {refusal}") from refusal
        if not isinstance(decided, PaymentHeld):
            raise _Refusal(Problem.CONFLICT, "the payment was credited as its plan, not held")
        try:
            refund = await self.api.create_refund(
                payment_id=payment_id,
                amount=decided.amount,
                currency=decided.currency,
                idempotency_key=str(uuid.uuid5(REFUND_NAMESPACE, payment_id)),
            )
        except YooKassaRefused as error:
            raise _Refusal(Problem.CONFLICT, f"YooKassa refused the refund: {error}") from error
        except YooKassaUnavailable as error:
            raise _Refusal(
                Problem.UNAVAILABLE, "payment provider API unavailable; retry later"
            ) from error
        return RefundCreated(refund_id=str(refund["id"]), status=str(refund.get("status")))
