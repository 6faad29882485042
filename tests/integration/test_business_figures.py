"""The business figures against a real worker: exact, read by ``_id`` only, and the same
after redelivery of the same events and after a worker killed mid-batch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.database import Database

from events import Envelope, Event, external_event_id
from events.bot_actions import TrialRequested
from events.payments import RefundSucceeded
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.settings import MongoSettings
from services.subscription.adapters.figure_shards import FigureShards
from services.subscription.handlers.stats import business_stats
from tests.integration.test_expiry_sweep import Filters
from tests.integration.test_subscription_jobs import paid_for_days, started
from tests.processes import Program
from tests.user_docs import user_doc
from tests.waiting import eventually

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def filters() -> Filters:
    return Filters()


@pytest.fixture
async def shards(mongo_settings: MongoSettings, filters: Filters) -> AsyncIterator[FigureShards]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongo_settings.url, tz_aware=True, event_listeners=[filters]
    )
    yield FigureShards(client[mongo_settings.database]["figures"])
    await client.close()


async def figures_become(
    shards: FigureShards, expected: dict[str, Any], worker: Program, timeout_s: float = 90
) -> int:
    """Poll the figures until they are ``expected``; how many reads of them it took."""
    deadline, polls = time.monotonic() + timeout_s, 1
    while (found := await business_stats(shards)) != expected:
        assert worker.process is not None
        assert worker.process.poll() is None, worker.log()[-3000:]
        assert time.monotonic() < deadline, f"figures {found}, expected {expected}"
        await asyncio.sleep(0.3)
        polls += 1
    return polls


def trial(telegram_id: int, at: datetime) -> Envelope[Event]:
    return Envelope.new(TrialRequested(telegram_id=telegram_id), producer="tests", occurred_at=at)


def refund(payment: Envelope[Event], amount: str, at: datetime) -> Envelope[Event]:
    paid = payment.payload
    event = RefundSucceeded(
        telegram_id=paid.telegram_id,  # type: ignore[attr-defined]
        payment_id=paid.payment_id,  # type: ignore[attr-defined]
        refund_id=f"refund-of-{paid.payment_id}",  # type: ignore[attr-defined]
        amount=Decimal(amount),
        currency="RUB",
        refunded_at=at,
    )
    return Envelope.new(
        event,
        producer="tests",
        occurred_at=at,
        event_id=external_event_id("yookassa", event.refund_id, event.event_type),
    )


def history() -> list[Envelope[Event]]:
    """3001 on a trial; 3002 converted from a trial, then partly refunded; 3003 paid for
    one day two days ago (lapsed); 3004 paid and never started the bot; 3006 paid and was
    refunded in full (no revenue, so not a paying user; lapsed at the refund)."""
    ago = NOW - timedelta(days=2)
    converted = paid_for_days(3002, 30, NOW + timedelta(seconds=2))
    taken_back = paid_for_days(3006, 30, NOW + timedelta(seconds=2))
    return [
        started(3001, NOW),
        trial(3001, NOW + timedelta(seconds=1)),
        started(3002, NOW),
        trial(3002, NOW + timedelta(seconds=1)),
        converted,
        refund(converted, "4.00", NOW + timedelta(seconds=3)),
        started(3003, ago),
        paid_for_days(3003, 1, ago + timedelta(seconds=1)),
        paid_for_days(3004, 30, NOW),
        started(3006, NOW),
        taken_back,
        refund(taken_back, "10.00", NOW + timedelta(seconds=3)),
    ]


EXPECTED = {
    "users": 4,
    "active": 2,
    "trials": 2,
    "paid": 2,
    "revenue": {"RUB": "26.00"},  # four payments of 10.00, 14.00 refunded
    "trial_to_paid": 0.5,
}


def only_id_lookups(filters: Filters) -> bool:
    return all(set(f) == {"_id"} and isinstance(f["_id"], str) for _, f in filters.seen)


async def test_figures_are_exact_read_by_id_and_unchanged_by_redelivery(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    shards: FigureShards,
    filters: Filters,
) -> None:
    events = history()
    for envelope in events:
        await publisher.publish(envelope)
    polls = await figures_become(shards, EXPECTED, worker)
    assert {c for c, _ in filters.seen} == {"figures"}
    assert only_id_lookups(filters), filters.seen
    assert len(filters.seen) == 6 * polls  # one lookup per partition, per read of the figures

    for envelope in events:  # redelivered, as after a lost acknowledgement
        await publisher.publish(envelope)
    await publisher.publish(started(3005, NOW))  # handled after the redelivered ones
    await eventually(lambda: user_doc(db, 3005).get("registered") is True, worker)
    await figures_become(shards, {**EXPECTED, "users": 5}, worker, timeout_s=10)


async def test_figures_stay_exact_when_the_worker_is_killed_mid_batch(
    worker: Program, publisher: EventPublisher, db: Database[Document], shards: FigureShards
) -> None:
    before = await business_stats(shards)
    newcomers = range(3100, 3160)
    for telegram_id in newcomers:
        await publisher.publish(started(telegram_id, NOW))
        await publisher.publish(trial(telegram_id, NOW + timedelta(seconds=1)))
    await eventually(lambda: db.users.count_documents({"telegram_id": {"$gte": 3100}}) > 0)
    worker.kill()
    worker.start()
    await eventually(
        lambda: all(user_doc(db, t).get("trial_used") is True for t in newcomers), worker
    )
    added = len(newcomers)
    await figures_become(
        shards,
        {
            **before,
            "users": before["users"] + added,
            "active": before["active"] + added,
            "trials": before["trials"] + added,
            "trial_to_paid": round(1 / (before["trials"] + added), 4),
        },
        worker,
    )
