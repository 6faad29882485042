"""What a fault run must leave behind, read from the real parts themselves.

- Each payment credited exactly once: one ledger entry per payment in the user's
  document, ``purchases`` equal to the user's payments, ``until`` equal to the user's
  plans added up in time order from each capture time, one record in ``payments``, and
  one ``SubscriptionExtended`` (by event id) on ``subscriptions``.
- Every paying user's key enabled on both nodes, as each node agent answers.
- Nothing in any dead-letter topic.
- Every webhook acknowledged with 200 credited.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo.database import Database

from events import external_event_id
from events.registry import TOPICS, TopicNames
from events.subscriptions import SubscriptionExtended
from keyland.mongo import Document, user_document_id
from keyland.periods import extend
from keyland.plans import DEFAULT_PLANS
from keyland_tools.stack.node import Node
from tests.kafka_tail import read_topic
from tests.provisioning import keys_on


@dataclass(frozen=True)
class Order:
    """One payment of one user for one plan, as created through the ingest."""

    telegram_id: int
    plan: str
    payment_id: str

    @property
    def ledger_id(self) -> str:
        return f"yookassa:{self.payment_id}"

    @property
    def event_id(self) -> uuid.UUID:
        return external_event_id("yookassa", self.payment_id, "PaymentSucceeded")


def expected_until(orders: Iterable[Order], captured: dict[str, datetime]) -> datetime | None:
    """Where the user's access ends: each plan added from ``max(until, capture time)``, in
    the processor's order (capture time, then event id)."""
    until: datetime | None = None
    for order in sorted(orders, key=lambda o: (captured[o.payment_id], str(o.event_id))):
        at, plan = captured[order.payment_id], DEFAULT_PLANS[order.plan]
        until = extend(max(until or at, at), plan.months, plan.days)
    return until


def by_user(orders: Iterable[Order]) -> dict[int, list[Order]]:
    grouped: dict[int, list[Order]] = defaultdict(list)
    for order in orders:
        grouped[order.telegram_id].append(order)
    return grouped


@dataclass
class Credits:
    """What the ledger says: payments credited, and what is wrong by how it can go."""

    credited: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)  # may still arrive
    excess: list[str] = field(default_factory=list)  # a credit too many: never heals


def credit_problems(
    db: Database[Document], orders: list[Order], captured: dict[str, datetime]
) -> Credits:
    """Each payment against the users' documents and the ``payments`` collection."""
    fields = {"telegram_id": 1, "entries": 1, "until": 1, "purchases": 1}
    documents = {d["telegram_id"]: d for d in db.users.find({}, fields)}
    credits = Credits()
    for telegram_id, own in by_user(orders).items():
        document = documents.get(telegram_id)
        if document is None:
            credits.missing.append(f"user {telegram_id}: no subscription, paid {len(own)}")
            continue
        entries = Counter(
            e.get("payment_id") for e in document.get("entries", []) if e.get("kind") == "paid"
        )
        for order in own:
            count = entries[order.ledger_id]
            if count:
                credits.credited.add(order.payment_id)
            if count != 1:
                wrong = credits.excess if count > 1 else credits.missing
                wrong.append(f"payment {order.payment_id}: {count} ledger entries")
        purchases = document.get("purchases", 0)
        if purchases != len(own):
            wrong = credits.excess if purchases > len(own) else credits.missing
            wrong.append(f"user {telegram_id}: {purchases} purchases, paid {len(own)}")
        wanted = expected_until(own, captured)
        if document.get("until") != wanted:
            credits.missing.append(
                f"user {telegram_id}: until {document.get('until')}, not {wanted}"
            )
    recorded = {d["_id"] for d in db.payments.find({}, {"_id": 1})}
    credits.missing += [
        f"payment {o.payment_id}: not in the payments collection"
        for o in orders
        if o.ledger_id not in recorded
    ]
    return credits


def key_problems(db: Database[Document], orders: list[Order], nodes: list[Node]) -> list[str]:
    """Paying users whose key a node agent does not list as enabled."""
    payers = list(by_user(orders))
    ids = [user_document_id(tg) for tg in payers]
    found = db.users.find({"_id": {"$in": ids}}, {"telegram_id": 1, "key_id": 1})
    keys = {d["telegram_id"]: d.get("key_id") for d in found}
    problems = []
    for node in nodes:
        enabled = keys_on(node)
        missing = [tg for tg in payers if keys.get(tg) not in enabled]
        if missing:
            problems.append(f"node {node.name}: {len(missing)} paying users' keys not enabled")
    return problems


def acknowledged_problems(deliveries: list[dict[str, Any]], credited: set[str]) -> list[str]:
    """Payments whose webhook was answered 200 and which were not credited."""
    acknowledged = {
        d["payment_id"] for d in deliveries if any(a["status"] == 200 for a in d["attempts"])
    }
    return [f"payment {p}: webhook acknowledged, not credited" for p in acknowledged - credited]


async def extension_problems(bootstrap: str, topics: TopicNames, orders: list[Order]) -> list[str]:
    """Payments without exactly one ``SubscriptionExtended`` (by event id)."""
    wanted = {order.ledger_id for order in orders}

    def ids_by_payment(found: list[Any]) -> dict[str, set[uuid.UUID]]:
        ids: dict[str, set[uuid.UUID]] = defaultdict(set)
        for envelope in found:
            if isinstance(envelope.payload, SubscriptionExtended):
                ids[str(envelope.payload.payment_id)].add(envelope.event_id)
        return ids

    found = await read_topic(
        bootstrap,
        topics("subscriptions"),
        until=lambda f: wanted <= set(ids_by_payment(f)),
        timeout_s=30,
    )
    ids = ids_by_payment(found)
    return [
        f"payment {p}: {len(ids.get(p, ()))} SubscriptionExtended facts"
        for p in sorted(wanted)
        if len(ids.get(p, ())) != 1
    ]


async def dead_letters(bootstrap: str, topics: TopicNames) -> dict[str, int]:
    """Records in each dead-letter topic of the run."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topics.dlq(spec.name), p)
            for spec in TOPICS
            for p in range(spec.partitions)
        ]
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    counts: Counter[str] = Counter()
    for partition in partitions:
        counts[partition.topic] += ends[partition] - starts[partition]
    return dict(counts)
