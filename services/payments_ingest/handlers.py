"""Payments ingest use cases: a notification in → at most one event to Kafka; a new payment."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

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
    Renewal,
    canceled,
    new_gift_code,
    refunded,
    saved_method,
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
RENEWAL_NAMESPACE = uuid.UUID("9a4f6e21-7c3b-5d80-a1e2-4b6c8d0f2e13")
_OBJECT_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
T = TypeVar("T")


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

                def settled() -> list[Event]:
                    credit = settle(payment, order, paid_at)
                    saved = saved_method(payment, credit, order)
                    return [credit] if saved is None else [credit, saved]

                return await self._publish(settled, object_id, paid_at)
            case "payment.canceled":
                payment = await self._fetch(self.api.payment, object_id)
                order = await self._order_of(payment)
                return await self._publish(
                    lambda: [canceled(payment, order)], object_id, datetime.now(UTC)
                )
            case "refund.succeeded":
                refund = await self._fetch(self.api.refund, object_id)
                payment = await self._fetch(self.api.payment, str(refund.get("payment_id")))
                at = _time(refund.get("created_at"))
                order = await self._order_of(payment)
                return await self._publish(
                    lambda: [refunded(refund, payment, order, at)], object_id, at
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

    async def _publish(
        self, decide: Callable[[], list[Event]], object_id: str, at: datetime
    ) -> Accepted:
        """Publish what the notification means (one event, or a credit and the method it
        saved), in order, each under an id derived from the object and its type."""
        try:
            payloads = decide()
        except NotCreditable as refusal:
            log.warning("notification for %s not creditable: %s", object_id, refusal)
            problem = Problem.CONFLICT if refusal.retry else Problem.UNCONFIRMED
            raise _Refusal(problem, str(refusal)) from refusal
        envelopes = [
            Envelope.new(
                payload,
                producer=PRODUCER,
                occurred_at=at,
                event_id=external_event_id("yookassa", object_id, payload.event_type),
            )
            for payload in payloads
        ]
        try:
            await self.publisher.publish_many(envelopes)
        except PublishFailed as error:
            log.warning("events for %s not acknowledged by Kafka: %s", object_id, error)
            raise _Refusal(Problem.UNAVAILABLE, "event store unavailable; retry later") from error
        for envelope in envelopes:
            metrics.PAYMENT_EVENTS_PUBLISHED.labels(envelope.type).inc()
            log.info("published %s %s for %s", envelope.type, envelope.event_id, object_id)
        return Accepted("published")

    async def create_payment(
        self,
        telegram_id: int,
        plan_name: str,
        order_id: str,
        *,
        save_method: bool = False,
        gift: bool = False,
    ) -> PaymentCreated | Refused:
        """Create a YooKassa payment for a plan (``gift``: as a gift for someone else);
        the same order gives the same payment.

        The order (user, plan, price, whether to save the payer's method for renewals, a
        gift's code) is recorded first, so the webhook can tell our payment at our price
        from any other payment on the shop. A gift renews nothing: no method is saved.
        """
        try:
            plan = self._plan(plan_name)
            kind = ":gift" if gift else ""
            key = str(uuid.uuid5(ORDER_NAMESPACE, f"{telegram_id}:{plan.name}:{order_id}{kind}"))
            wanted = Order(
                order_id=key,
                telegram_id=telegram_id,
                plan=plan,
                save_method=save_method and not gift,
                gift_code=new_gift_code() if gift else None,
            )
            order = await self._place(wanted)
            created = await self._ask(order)
        except _Refusal as refusal:
            return refusal.outcome
        confirmation = created.get("confirmation") or {}
        return PaymentCreated(
            payment_id=str(created["id"]),
            status=str(created.get("status")),
            confirmation_url=str(confirmation.get("confirmation_url", "")),
            gift_code=order.gift_code,
        )

    async def renew(
        self, telegram_id: int, plan_name: str, renewal: Renewal
    ) -> PaymentCreated | Refused:
        """Charge the user's saved method for a plan, without the user: once per (user,
        period end, attempt), however often this is asked.

        The order's id and the idempotence key are derived from those three, and the
        order remembers the payment made for it: a repeat within YooKassa's day of
        idempotence gets the same payment from YooKassa, a later one (a replay) gets
        it from the order, without asking YooKassa again.
        """
        if not _OBJECT_ID.match(renewal.method_id):
            return Refused(Problem.INVALID, "malformed payment method id")
        try:
            plan = self._plan(plan_name)
            key = str(
                uuid.uuid5(
                    RENEWAL_NAMESPACE,
                    f"{telegram_id}:{renewal.period_end.isoformat()}:{renewal.attempt}",
                )
            )
            order = await self._place(
                Order(order_id=key, telegram_id=telegram_id, plan=plan, renewal=renewal)
            )
            if order.payment_id is not None:
                metrics.RENEWALS.labels("known").inc()
                log.info(
                    "renewal %s of %s asked again: payment %s", key, telegram_id, order.payment_id
                )
                return PaymentCreated(order.payment_id, "created", "")
            created = await self._ask(order)
            await self._orders_call(self.orders.record_payment(key, str(created["id"])))
        except _Refusal as refusal:
            return refusal.outcome
        metrics.RENEWALS.labels("asked").inc()
        log.info("renewal %s of %s: payment %s", key, telegram_id, created["id"])
        return PaymentCreated(str(created["id"]), str(created.get("status")), "")

    def _plan(self, plan_name: str) -> Plan:
        plan = self.plans.get(plan_name)
        if plan is None:
            raise _Refusal(
                Problem.INVALID,
                f"unknown plan {plan_name!r}; plans: {', '.join(sorted(self.plans))}",
            )
        return plan

    async def _place(self, order: Order) -> Order:
        placed: Order = await self._orders_call(self.orders.place(order, datetime.now(UTC)))
        return placed

    @staticmethod
    async def _orders_call(call: Awaitable[T]) -> T:
        try:
            return await call
        except OrdersUnavailable as error:
            log.warning("orders unavailable: %s", error)
            raise _Refusal(Problem.UNAVAILABLE, "order store unavailable; retry later") from error

    async def _ask(self, order: Order) -> ApiObject:
        """YooKassa's payment for the order (as recorded: first placement wins)."""
        plan, telegram_id = order.plan, order.telegram_id
        try:
            return await self.api.create_payment(
                amount=plan.price,
                currency=plan.currency,
                description=f"Keyland {plan.name}, пользователь номер: {telegram_id}",
                metadata={
                    "telegram_id": str(telegram_id),
                    "plan": plan.name,
                    "order_id": order.order_id,
                    **({"gift": order.gift_code} if order.gift_code else {}),
                },
                return_url=self.return_url,
                idempotency_key=order.order_id,
                save_payment_method=order.save_method,
                payment_method_id=None if order.renewal is None else order.renewal.method_id,
            )
        except YooKassaRefused as error:
            raise _Refusal(Problem.CONFLICT, f"YooKassa refused the payment: {error}") from error
        except YooKassaUnavailable as error:
            raise _Refusal(
                Problem.UNAVAILABLE, "payment provider API unavailable; retry later"
            ) from error

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
