"""The promo desk's claims on the real database: two desks deciding the same code at once
(a rebalance leaving a second worker on the code's partition) still hand out each use
once and each user's use once, a redemption retried after a crash is granted again
under the same answer, and a desk rebuilding the database publishes no answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from events import Envelope, Event
from events.admin_commands import PromoCodeCreated
from events.bot_actions import PromoCodeEntered
from events.registry import TopicNames
from keyland.indexes import ensure_indexes
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document, async_database
from keyland.settings import KafkaSettings, MongoSettings
from services.subscription.adapters.payments import Payments
from services.subscription.adapters.promos import Promos
from services.subscription.domain.promos import Grant
from services.subscription.handlers.promos import PromoDesk
from tests.kafka_tail import read_topic

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def promos_of(handle: AsyncDatabase[Document]) -> Promos:
    return Promos(handle["promo_codes"], handle["promo_claims"], handle["promo_decisions"])


@pytest.fixture
async def handles(mongo_settings: MongoSettings) -> AsyncIterator[list[AsyncDatabase[Document]]]:
    """Two workers' own connections to the module's database."""
    opened = [async_database(mongo_settings, app_name=f"desk-{n}") for n in range(2)]
    await ensure_indexes(promos_of(opened[0]).owned(), mongo_settings.postgres_url)
    yield opened
    for handle in opened:
        await handle.client.close()


def envelope(event: Event, minutes: float) -> Envelope[Event]:
    return Envelope.new(event, producer="tests", occurred_at=NOW + timedelta(minutes=minutes))


async def test_two_desks_at_once_hand_out_each_use_and_each_users_use_once(
    handles: list[AsyncDatabase[Document]],
    publisher: EventPublisher,
    created_topics: TopicNames,
) -> None:
    created = PromoCodeCreated(
        code="TWODESKS", days=7, max_uses=5, expires_at=NOW + timedelta(days=1), admin_id=1
    )
    desks = [
        PromoDesk(promos_of(handle), Payments(handle["payments"]), publisher) for handle in handles
    ]
    await desks[0].handle([envelope(created, 0)])
    # 20 users, each entering the code twice, every redemption decided by both desks
    entered = [
        envelope(PromoCodeEntered(telegram_id=600 + n % 20, code="TWODESKS"), 1) for n in range(40)
    ]
    await asyncio.gather(*(desk.handle([e]) for e in entered for desk in desks))

    claims = handles[0]["promo_claims"]
    slots = await claims.find({"_id": {"$regex": "^TWODESKS#"}}).to_list(None)
    users = await claims.find({"_id": {"$regex": "^TWODESKS:"}}).to_list(None)
    assert len(slots) == 5
    assert len(users) == 5
    assert {s["event_id"] for s in slots} == {u["event_id"] for u in users}
    winners = {e.event_id for e in entered if str(e.event_id) in {u["event_id"] for u in users}}
    decisions = handles[0]["promo_decisions"]
    stored = {d["_id"]: d for d in await decisions.find({"code": "TWODESKS"}).to_list(None)}
    assert len(stored) == 40
    assert {uuid.UUID(i) for i, d in stored.items() if "slot" in d} == winners


async def test_a_redemption_retried_after_its_claims_finds_its_own_grant(
    handles: list[AsyncDatabase[Document]], publisher: EventPublisher, created_topics: TopicNames
) -> None:
    promos = promos_of(handles[0])
    created = PromoCodeCreated(
        code="RETRIED", days=3, max_uses=1, expires_at=NOW + timedelta(days=1), admin_id=1
    )
    await promos.create(created, NOW)
    code = await promos.code("RETRIED")
    assert code is not None
    redemption = envelope(PromoCodeEntered(telegram_id=700, code="RETRIED"), 1)
    # the claims were taken, then the worker crashed before storing its decision
    assert await promos.take(code, 700, redemption.event_id) == Grant(0, 3)
    assert await promos.take(code, 700, redemption.event_id) == Grant(0, 3)
    await PromoDesk(promos, Payments(handles[0]["payments"]), publisher).handle([redemption])
    decided = await promos.decision(redemption.event_id)
    assert decided is not None
    assert (decided["slot"], decided["days"]) == (0, 3)
    code_now = await promos.code("RETRIED")
    assert code_now is not None
    assert code_now.uses == 1


async def test_a_rebuilding_desk_decides_and_publishes_nothing(
    handles: list[AsyncDatabase[Document]],
    publisher: EventPublisher,
    created_topics: TopicNames,
    kafka_settings: KafkaSettings,
) -> None:
    promos = promos_of(handles[0])
    desk = PromoDesk(promos, Payments(handles[0]["payments"]), publisher, rebuild=True)
    created = PromoCodeCreated(
        code="REBUILT", days=5, max_uses=1, expires_at=NOW + timedelta(days=1), admin_id=1
    )
    redemption = envelope(PromoCodeEntered(telegram_id=800, code="REBUILT"), 1)
    await desk.handle([envelope(created, 0), redemption])
    decided = await promos.decision(redemption.event_id)
    assert decided is not None
    assert decided["slot"] == 0
    live = PromoDesk(promos, Payments(handles[0]["payments"]), publisher)
    marker = envelope(PromoCodeEntered(telegram_id=801, code="REBUILT"), 2)
    await live.handle([marker])  # published: once it is on the topic, so would be the other
    answers = await read_topic(
        kafka_settings.bootstrap,
        created_topics("subscriptions"),
        until=lambda got: any(e.causation_id == marker.event_id for e in got),
        timeout_s=10,
    )
    causes = {e.causation_id for e in answers}
    assert marker.event_id in causes
    assert redemption.event_id not in causes
