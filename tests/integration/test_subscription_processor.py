"""The subscription processor against real Kafka and the real database, as a real worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pymongo.database import Database

from events import Envelope, Event, derived_event_id, external_event_id
from events.admin_commands import SubscriptionAdjusted
from events.bot_actions import TrialRequested, UserStarted
from events.payments import PaymentSucceeded, RefundSucceeded
from events.registry import TopicNames
from events.subscriptions import AdjustmentRejected, SubscriptionShortened
from events.traffic import TrafficCounted
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document, user_document_id
from keyland.periods import add_months
from keyland.settings import KafkaSettings
from tests.kafka_tail import read_topic
from tests.processes import Program
from tests.user_docs import user_doc
from tests.waiting import eventually

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def worker_env(service_env: dict[str, str]) -> dict[str, str]:
    return {
        **service_env,
        "KEYLAND_SUBSCRIPTION_TRIAL_DAYS": "3",
        "KEYLAND_SUBSCRIPTION_MAX_HORIZON_DAYS": "400",
    }


@pytest.fixture(scope="module")
def worker(
    worker_env: dict[str, str], created_topics: TopicNames, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Program]:
    log = tmp_path_factory.mktemp("logs") / "subscription.log"
    program = Program("services.subscription", worker_env, log, args=["worker"]).start()
    yield program
    program.stop()


def envelope(
    event: Event, at: datetime = NOW, event_id: uuid.UUID | None = None
) -> Envelope[Event]:
    return Envelope.new(event, producer="tests", occurred_at=at, event_id=event_id)


def payment(
    telegram_id: int, payment_id: str, months: int = 1, at: datetime = NOW
) -> Envelope[Event]:
    event = PaymentSucceeded(
        telegram_id=telegram_id,
        payment_id=payment_id,
        plan=f"month_{months}",
        months=months,
        amount=Decimal("199.00") * months,
        currency="RUB",
        paid_at=at,
    )
    return envelope(event, at, external_event_id("yookassa", payment_id, event.event_type))


async def facts_about(
    kafka: KafkaSettings, topics: TopicNames, telegram_id: int
) -> list[Envelope[Event]]:
    everything = await read_topic(kafka.bootstrap, topics("subscriptions"), timeout_s=3)
    return [e for e in everything if getattr(e.payload, "telegram_id", None) == telegram_id]


async def test_trial_is_granted_once(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    await publisher.publish(envelope(UserStarted(telegram_id=101, username="Anna")))
    await publisher.publish(envelope(TrialRequested(telegram_id=101), NOW + timedelta(seconds=1)))
    await publisher.publish(envelope(TrialRequested(telegram_id=101), NOW + timedelta(seconds=2)))
    await eventually(lambda: user_doc(db, 101).get("trial_used") is True, worker)
    await eventually(
        lambda: user_doc(db, 101).get("updated_at") == NOW + timedelta(seconds=2), worker
    )
    # The trial asked for after it was granted changes nothing ever again: not kept.
    assert len(user_doc(db, 101)["entries"]) == 2
    assert user_doc(db, 101)["until"] == NOW + timedelta(seconds=1, days=3)
    types = [e.type for e in await facts_about(kafka_settings, topics, 101)]
    assert types.count("TrialActivated") == 1
    assert types.count("UserRegistered") == 1


async def test_payment_redelivered_across_worker_crashes_extends_once(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    await publisher.publish(envelope(UserStarted(telegram_id=102)))
    paid = payment(102, "pay-102")
    for _ in range(3):
        await publisher.publish(paid)
        await eventually(lambda: user_doc(db, 102).get("purchases") == 1, worker)
        worker.kill()
        worker.start()
    await publisher.publish(envelope(TrialRequested(telegram_id=102), NOW + timedelta(seconds=5)))
    await eventually(lambda: len(user_doc(db, 102).get("entries", [])) == 3, worker)
    assert user_doc(db, 102)["until"] == _plus_month(NOW)
    extended = [
        e
        for e in await facts_about(kafka_settings, topics, 102)
        if e.type == "SubscriptionExtended"
    ]
    assert len({e.event_id for e in extended}) == 1


async def test_referrer_is_credited_once_per_payment(
    worker: Program, publisher: EventPublisher, db: Database[Document]
) -> None:
    await publisher.publish(envelope(UserStarted(telegram_id=201), NOW - timedelta(days=1)))
    await publisher.publish(envelope(UserStarted(telegram_id=202, referrer_id=201)))
    first, second = (
        payment(202, "pay-202-a", months=2),
        payment(202, "pay-202-b", months=1, at=NOW + timedelta(hours=1)),
    )
    for paid in (first, first, second, first):
        await publisher.publish(paid)
    await eventually(lambda: user_doc(db, 201).get("referral_days_earned") == 30, worker)
    await asyncio.sleep(1)
    assert user_doc(db, 201)["referral_days_earned"] == 30
    assert user_doc(db, 201)["until"] == NOW + timedelta(days=30)


async def test_a_start_handled_after_its_later_payment_earns_the_referrer_once(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    # /start and payment come on different topics: here the payment is handled first
    referrer, invitee = 211, 212
    await publisher.publish(envelope(UserStarted(telegram_id=referrer), NOW - timedelta(days=10)))
    paid = payment(invitee, "pay-212", at=NOW - timedelta(days=5))
    await publisher.publish(paid)
    await eventually(lambda: len(user_doc(db, invitee).get("entries", [])) == 1, worker)
    assert user_doc(db, invitee).get("registered") is not True  # held, not credited yet
    start = UserStarted(telegram_id=invitee, referrer_id=referrer)
    await publisher.publish(envelope(start, NOW - timedelta(days=8)))
    await publisher.publish(paid)  # redelivered
    await eventually(lambda: user_doc(db, referrer).get("referral_days_earned") == 10, worker)
    await asyncio.sleep(1)
    assert user_doc(db, referrer)["referral_days_earned"] == 10
    # the bonus runs from the payment, as when the /start is handled first
    assert user_doc(db, referrer)["until"] == NOW + timedelta(days=5)
    earned = [
        e for e in await facts_about(kafka_settings, topics, referrer)
        if e.type == "ReferralBonusEarned"
    ]  # fmt: skip
    assert [e.event_id for e in earned] == [derived_event_id(paid.event_id, "ReferralBonusEarned")]


async def test_adjustment_past_the_horizon_is_rejected_with_its_reason(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    await publisher.publish(envelope(UserStarted(telegram_id=301)))
    await publisher.publish(envelope(SubscriptionAdjusted(telegram_id=301, months=14, admin_id=9)))
    await publisher.publish(envelope(SubscriptionAdjusted(telegram_id=301, days=5, admin_id=9)))
    await eventually(lambda: len(user_doc(db, 301).get("entries", [])) == 3, worker)
    assert user_doc(db, 301)["until"] == NOW + timedelta(days=5)
    rejected = [
        e for e in await facts_about(kafka_settings, topics, 301) if e.type == "AdjustmentRejected"
    ]
    assert len(rejected) == 1
    assert isinstance(rejected[0].payload, AdjustmentRejected)
    assert "maximum horizon of 400 days" in rejected[0].payload.reason


async def test_refund_takes_back_what_the_payment_added(
    worker: Program, publisher: EventPublisher, db: Database[Document]
) -> None:
    await publisher.publish(envelope(UserStarted(telegram_id=401)))
    await publisher.publish(payment(401, "pay-401-a"))
    await publisher.publish(payment(401, "pay-401-b", at=NOW + timedelta(minutes=1)))
    refund = RefundSucceeded(
        telegram_id=401,
        payment_id="pay-401-b",
        refund_id="refund-401",
        amount=Decimal("199.00"),
        currency="RUB",
        refunded_at=NOW + timedelta(minutes=2),
    )
    await publisher.publish(envelope(refund, NOW + timedelta(minutes=2)))
    await eventually(lambda: len(user_doc(db, 401).get("entries", [])) == 4, worker)
    assert user_doc(db, 401)["until"] == _plus_month(NOW)
    refunded = db.payments.find_one({"_id": "yookassa:pay-401-b"})
    assert refunded is not None
    assert refunded["refunds"] == {"refund-401": "199.00"}


async def test_a_refund_takes_back_the_referrers_used_up_days_once_never_before_it(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    referrer, invitee = 601, 602
    await publisher.publish(envelope(UserStarted(telegram_id=referrer), NOW - timedelta(days=10)))
    await publisher.publish(
        envelope(UserStarted(telegram_id=invitee, referrer_id=referrer), NOW - timedelta(days=9))
    )
    # the bonus runs from the payment: on the refund's day eight of its ten days are used
    await publisher.publish(payment(invitee, "pay-602", at=NOW - timedelta(days=8)))
    await eventually(lambda: user_doc(db, referrer).get("referral_days_earned") == 10, worker)
    assert user_doc(db, referrer)["until"] == NOW + timedelta(days=2)
    refund = RefundSucceeded(
        telegram_id=invitee, payment_id="pay-602", refund_id="refund-602",
        amount=Decimal("199.00"), currency="RUB", refunded_at=NOW,
    )  # fmt: skip
    refund_id = external_event_id("yookassa", refund.refund_id, refund.event_type)
    for _ in range(3):  # redelivered
        await publisher.publish(envelope(refund, NOW, refund_id))
    await eventually(lambda: user_doc(db, referrer).get("referral_days_earned") == 0, worker)
    assert user_doc(db, referrer)["until"] == NOW  # not two days ago, eight days back
    assert user_doc(db, invitee)["purchases"] == 0  # all of it went back
    revoked = [
        e for e in await facts_about(kafka_settings, topics, referrer)
        if e.type == "ReferralBonusRevoked"
    ]  # fmt: skip
    assert len({e.event_id for e in revoked}) == 1
    shortened = [
        e.payload for e in await facts_about(kafka_settings, topics, referrer)
        if isinstance(e.payload, SubscriptionShortened)
    ]  # fmt: skip
    assert [(s.reason, s.until) for s in shortened] == [("referral_refund", NOW)]


async def test_replaying_every_topic_from_offset_zero_changes_nothing(
    worker: Program,
    worker_env: dict[str, str],
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    await publisher.publish(envelope(UserStarted(telegram_id=501)))
    await publisher.publish(payment(501, "pay-501"))
    await eventually(lambda: user_doc(db, 501).get("purchases") == 1, worker)
    worker.stop()
    users_before = list(db.users.find().sort("_id"))
    facts_before = await read_topic(kafka_settings.bootstrap, topics("subscriptions"), timeout_s=3)

    replay_env = {
        **worker_env,
        "KEYLAND_SUBSCRIPTION_APP_ID": worker_env["KEYLAND_SUBSCRIPTION_APP_ID"] + "-replay",
    }
    replay_log = tmp_path_factory.mktemp("replay") / "replay.log"
    replay = Program("services.subscription", replay_env, replay_log, args=["worker"]).start()
    try:
        marker = envelope(UserStarted(telegram_id=502))
        await publisher.publish(marker)
        await eventually(lambda: user_doc(db, 502).get("registered") is True, replay)
    finally:
        replay.stop()
        worker.start()
    assert [u for u in db.users.find().sort("_id") if u["telegram_id"] != 502] == users_before
    facts_after = await read_topic(kafka_settings.bootstrap, topics("subscriptions"), timeout_s=3)
    replayed = sorted(
        str(e.event_id) for e in facts_after if getattr(e.payload, "telegram_id", None) != 502
    )
    assert replayed == sorted(str(e.event_id) for e in facts_before)


def _plus_month(moment: datetime) -> datetime:
    return add_months(moment, 1)


async def test_traffic_counts_fold_into_monthly_totals_once(
    worker: Program, publisher: EventPublisher, db: Database[Document]
) -> None:
    start = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

    def counted(node: str, window: int, down: int) -> Envelope[Event]:
        event = TrafficCounted(
            telegram_id=901,
            key_id=uuid.UUID(int=901),
            country="finland",
            node=node,
            window_start=start + window * timedelta(minutes=5),
            uplink_bytes=down // 10,
            downlink_bytes=down,
        )
        key_id = uuid.UUID(int=901)
        return envelope(
            event, event_id=derived_event_id(key_id, event.event_type, f"{node}|{window}")
        )

    first = [counted("127.0.0.1:18081", 0, 1000), counted("127.0.0.1:18082", 0, 500)]
    for record in first:
        await publisher.publish(record)

    def totals() -> Document | None:
        return db["traffic"].find_one({"_id": user_document_id(901)})

    await eventually(lambda: (totals() or {}).get("months") is not None, worker)
    worker.kill()
    worker.start()
    for record in [*first, counted("127.0.0.1:18081", 1, 2000)]:  # two of them again
        await publisher.publish(record)
    await eventually(
        lambda: (
            (totals() or {}).get("months")
            == [{"month": "2026-12", "uplink": 350, "downlink": 3500}]
        ),
        worker,
    )
    assert user_doc(db, 901) == {}  # no ledger, no user document: traffic changes no access
