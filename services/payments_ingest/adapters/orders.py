"""The ``orders`` collection: every payment we ask YooKassa for, placed before we ask.

Owned by the payments ingest. An order's ``_id`` is derived from the caller's order (see
:meth:`IngestHandlers.create_payment`), so placing it is a unique-key insert (atomic on
FerretDB and MongoDB alike) and the first placement wins: an order keeps the plan's price
of the moment it was placed, whatever the configuration says later. The webhook reads an
order by ``_id`` only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from keyland.mongo import Document
from services.payments_ingest.domain.notifications import Order, Plan


class OrdersUnavailable(RuntimeError):
    """The database did not answer; try again later."""


class Orders:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

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
            "placed_at": at,
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

    async def find(self, order_id: str) -> Order | None:
        try:
            found = await self._collection.find_one({"_id": order_id})
        except PyMongoError as error:
            raise OrdersUnavailable(f"{type(error).__name__}: {error}") from error
        if found is None:
            return None
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
        )
