"""The ``orders`` collection: every payment we ask YooKassa for, placed before we ask.

Owned by the payments ingest. An order's ``_id`` is derived from the caller's order (see
:meth:`IngestHandlers.create_payment`), so placing it is a unique-key insert (atomic on
FerretDB and MongoDB alike) and the first placement wins: an order keeps the plan's price
of the moment it was placed, whatever the configuration says later. The webhook reads an
order by ``_id`` only. A renewal order also records the payment YooKassa made for it
(one update by ``_id``, by its one writer: the request that placed it or a repeat of it,
which would record the same payment).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from keyland.indexes import Owned
from keyland.mongo import Document
from services.payments_ingest.domain.notifications import Order, Plan, Renewal


class OrdersUnavailable(RuntimeError):
    """The database did not answer; try again later."""


class Orders:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    def owned(self) -> list[Owned]:
        """Looked up by ``_id`` only: no secondary index, but the ``_id`` pushdown index
        (without it, every webhook's order lookup read the whole ``orders`` table)."""
        return [Owned(self._collection)]

    async def place(self, order: Order, at: datetime) -> Order:
        """Record ``order`` unless it exists; return the order as recorded (first wins)."""
        plan = order.plan
        document = {
            "_id": order.order_id,
            "telegram_id": order.telegram_id,
            "plan": plan.name,
            "months": plan.months,
            "days": plan.days,
            "price": str(plan.price),
            "currency": plan.currency,
            "gift_code": order.gift_code,
            "save_method": order.save_method,
            "placed_at": at,
        }
        if order.renewal is not None:
            document["renewal"] = {
                # Text, not a BSON date: exact to the microsecond, as the ledger keeps it.
                "period_end": order.renewal.period_end.isoformat(),
                "attempt": order.renewal.attempt,
                "method_id": order.renewal.method_id,
            }
        try:
            await self._collection.insert_one(document)
        except DuplicateKeyError:
            existing = await self.find(order.order_id)
            if existing is None:  # pragma: no cover - an order is never deleted
                raise OrdersUnavailable("the order vanished while being placed") from None
            return existing
        except PyMongoError as error:
            raise OrdersUnavailable(f"{type(error).__name__}: {error}") from error
        return order

    async def record_payment(self, order_id: str, payment_id: str) -> None:
        """Remember the payment made for the order, so a repeat never asks for another."""
        try:
            await self._collection.update_one(
                {"_id": order_id}, {"$set": {"payment_id": payment_id}}
            )
        except PyMongoError as error:
            raise OrdersUnavailable(f"{type(error).__name__}: {error}") from error

    async def find(self, order_id: str) -> Order | None:
        try:
            found = await self._collection.find_one({"_id": order_id})
        except PyMongoError as error:
            raise OrdersUnavailable(f"{type(error).__name__}: {error}") from error
        if found is None:
            return None
        renewal = found.get("renewal")
        return Order(
            order_id=order_id,
            telegram_id=int(found["telegram_id"]),
            plan=Plan(
                name=str(found["plan"]),
                months=int(found["months"]),
                days=int(found["days"]),
                price=Decimal(str(found["price"])),
                currency=str(found["currency"]),
            ),
            gift_code=found.get("gift_code"),
            save_method=bool(found.get("save_method", False)),
            renewal=None
            if renewal is None
            else Renewal(
                period_end=datetime.fromisoformat(renewal["period_end"]),
                attempt=int(renewal["attempt"]),
                method_id=str(renewal["method_id"]),
            ),
            payment_id=found.get("payment_id"),
        )
