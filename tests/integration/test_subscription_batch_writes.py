"""A batch of payments is written as a batch: before the users' saves, one insert of the
payments' records; after them, one insert per schedule for all the moments that moved,
then the facts, then the outboxes cleared; a redelivered batch writes and publishes
nothing more (real Kafka and database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pymongo import monitoring
from pymongo.database import Database

from events import Envelope, Event, external_event_id
from events.bot_actions import UserStarted
from events.payments import PaymentSucceeded
from events.registry import TopicNames
from keyland.kafka.topics import wait_until_visible
from keyland.mongo import Document
from keyland.settings import KafkaSettings
from services.subscription.bootstrap import INPUT_TOPICS, Container, bootstrap
from tests.kafka_tail import read_topic
from tests.user_docs import user_doc

USERS = range(8301, 8321)
NOW = datetime.now(UTC).replace(microsecond=0)


class Inserts(monitoring.CommandListener):
    """The collections of every insert command, while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.seen: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.on and event.command_name == "insert":
            self.seen.append(str(event.command["insert"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


INSERTS = Inserts()
monitoring.register(INSERTS)  # process-wide: the clients bootstrap makes report to it


@pytest.fixture
async def container(
    service_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    kafka_settings: KafkaSettings,
    created_topics: TopicNames,
) -> AsyncIterator[Container]:
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    await wait_until_visible(kafka_settings.bootstrap, [created_topics(t) for t in INPUT_TOPICS])
    built = bootstrap()
    await built.prepare_database()
    try:
        yield built
    finally:
        INSERTS.on = False
        await built.publisher.close()
        await built.db.client.close()


def paid(telegram_id: int) -> Envelope[Event]:
    event = PaymentSucceeded(
        telegram_id=telegram_id, payment_id=f"batch-{telegram_id}", plan="day", months=0,
        days=30, amount=Decimal("10.00"), currency="RUB", paid_at=NOW,
    )  # fmt: skip
    event_id = external_event_id("yookassa", event.payment_id, event.event_type)
    return Envelope.new(event, producer="tests", occurred_at=NOW, event_id=event_id)


async def extended(kafka: KafkaSettings, topics: TopicNames) -> list[Any]:
    """The ids of the ``SubscriptionExtended`` facts on the topic (partitions in turn)."""
    facts = await read_topic(kafka.bootstrap, topics("subscriptions"), timeout_s=2)
    return sorted(str(f.event_id) for f in facts if f.type == "SubscriptionExtended")


async def test_a_batch_of_payments_is_filed_in_one_insert_per_schedule_and_published_once(
    container: Container,
    kafka_settings: KafkaSettings,
    created_topics: TopicNames,
    db: Database[Document],
) -> None:
    starts = [
        Envelope.new(UserStarted(telegram_id=t), producer="tests", occurred_at=NOW - timedelta(hours=1))
        for t in USERS
    ]  # fmt: skip
    await container.handler.handle_batch(starts)
    payments = [paid(t) for t in USERS]
    INSERTS.on = True
    await container.handler.handle_batch(payments)
    INSERTS.on = False

    schedules = [c for c in INSERTS.seen if c in {"expiry_due", "inactive_due", "payments"}]
    assert sorted(schedules) == ["expiry_due", "inactive_due", "payments"], INSERTS.seen
    record = db.payments.find_one({"telegram_id": USERS[0]})
    assert record is not None
    assert (record["status"], record["refunds"]) == ("credited", {})
    assert db.expiry_due.count_documents({"telegram_id": {"$in": list(USERS)}}) == len(USERS)
    assert all(user_doc(db, t)["outbox"] == [] for t in USERS)
    published = await extended(kafka_settings, created_topics)
    assert len(published) == len(set(published)) == len(USERS)

    INSERTS.seen.clear()
    INSERTS.on = True
    await container.handler.handle_batch(payments)  # redelivered
    INSERTS.on = False
    assert [c for c in INSERTS.seen if c.endswith("_due") or c == "payments"] == []
    assert await extended(kafka_settings, created_topics) == published
