"""YooKassa → payments ingest → Kafka → subscription processor, all real, on a private broker.

The module runs its own Kafka broker (same jars as the stack, other ports) so it can stop
and start it without disturbing other tests. YooKassa is the local emulator; our
ingest talks to it through the official SDK.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from pymongo.database import Database

from emulators.serving import BackgroundServer
from emulators.yookassa import DeliveryPolicy
from events import Envelope, Event
from events.payments import HoldReason, PaymentHeld
from events.registry import TopicNames
from keyland.kafka.topics import ensure_topics
from keyland.mongo import Document
from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.stack.kafka import Kafka
from keyland_tools.stack.settings import StackSettings
from tests.kafka_tail import read_topic
from tests.processes import Program, free_port
from tests.services import payments_ingest, subscription_worker, yookassa_emulator
from tests.services import shop_payment as made_on_the_shop
from tests.starts import publish_starts
from tests.user_docs import user_doc
from tests.waiting import eventually

SHOP, SECRET, TOKEN = "100500", "test_secret_key", "internal-test-token"


@pytest.fixture(scope="module")
def private_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kafka]:
    stack = StackSettings(
        state_dir=tmp_path_factory.mktemp("private-kafka"),
        kafka_controller_port=free_port(),
        kafka_heap="384m",
    )
    kafka = Kafka(stack, KafkaSettings(bootstrap=f"127.0.0.1:{free_port()}"))
    kafka.start()
    yield kafka
    kafka.stop()


@pytest.fixture(scope="module")
def kafka(private_kafka: Kafka, isolation: str) -> KafkaSettings:
    settings = KafkaSettings(
        bootstrap=private_kafka.bootstrap, topic_prefix=f"{isolation}.", publish_timeout_s=3
    )
    asyncio.run(ensure_topics(settings.bootstrap, TopicNames(settings.topic_prefix)))
    return settings


@pytest.fixture(scope="module")
def ingest_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def emulator(ingest_port: int) -> Iterator[BackgroundServer]:
    delivery = DeliveryPolicy(attempts=1, base_delay_s=0.1, timeout_s=10)
    with yookassa_emulator((SHOP, SECRET), ingest_port, delivery) as server:
        yield server


@pytest.fixture(scope="module")
def env(service_env: dict[str, str], kafka: KafkaSettings) -> dict[str, str]:
    """Our services on the private broker (the shared database)."""
    return {
        **service_env,
        "KEYLAND_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "KEYLAND_KAFKA_PUBLISH_TIMEOUT_S": "3",
    }


@pytest.fixture(scope="module")
def ingest(
    env: dict[str, str],
    emulator: BackgroundServer,
    ingest_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    with payments_ingest(
        env,
        tmp_path_factory.mktemp("ingest"),
        port=ingest_port,
        token=TOKEN,
        shop=(SHOP, SECRET),
        yookassa_url=emulator.url,
    ) as running:
        yield running.url


@pytest.fixture(scope="module")
def worker(
    env: dict[str, str], kafka: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Program]:
    with subscription_worker(env, tmp_path_factory.mktemp("worker")) as program:
        yield program


async def started(kafka: KafkaSettings, telegram_id: int) -> None:
    """The user's own /start: only that registers them, so only then is money credited."""
    await publish_starts(kafka, [telegram_id])


def shop_payment(emulator: BackgroundServer, amount: str, metadata: dict[str, str]) -> str:
    return made_on_the_shop(emulator.url, (SHOP, SECRET), amount, metadata)


def buy(ingest: str, telegram_id: int, plan: str = "month_1") -> str:
    answer = httpx.post(
        f"{ingest}/payments",
        json={"telegram_id": telegram_id, "plan": plan, "order_id": uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["confirmation_url"].endswith(answer.json()["payment_id"])
    return str(answer.json()["payment_id"])


def control(emulator: BackgroundServer, path: str, **params: Any) -> dict[str, Any]:
    answer = httpx.post(
        f"{emulator.url}/emulator/{path}", params={"wait": "true", **params}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def answered(delivery: dict[str, Any]) -> int:
    return int(delivery["attempts"][-1]["status"])


async def published_for(kafka: KafkaSettings, payment_id: str) -> list[Envelope[Event]]:
    topic = TopicNames(kafka.topic_prefix)("payments")
    events = await read_topic(kafka.bootstrap, topic, timeout_s=2)
    return [e for e in events if getattr(e.payload, "payment_id", None) == payment_id]


async def event_ids_for(kafka: KafkaSettings, payment_id: str) -> set[uuid.UUID]:
    return {e.event_id for e in await published_for(kafka, payment_id)}


async def test_webhook_delivered_three_times_across_processor_crashes_extends_once(
    ingest: str,
    emulator: BackgroundServer,
    worker: Program,
    db: Database[Document],
    kafka: KafkaSettings,
) -> None:
    await started(kafka, 7001)
    payment_id = buy(ingest, 7001)
    first = control(emulator, f"payments/{payment_id}/pay")["deliveries"][0]
    assert answered(first) == 200
    await eventually(lambda: user_doc(db, 7001).get("purchases") == 1)
    until = user_doc(db, 7001)["until"]
    for _ in range(2):
        worker.kill()
        again = control(emulator, f"deliveries/{first['id']}/redeliver")["deliveries"][0]
        assert answered(again) == 200
        worker.start()
    await asyncio.sleep(3)
    assert user_doc(db, 7001)["purchases"] == 1
    assert user_doc(db, 7001)["until"] == until
    redelivered = await published_for(kafka, payment_id)
    assert [e.type for e in redelivered] == ["PaymentSucceeded"] * 3
    assert len({e.event_id for e in redelivered}) == 1  # the same event each time


async def test_forged_notification_for_a_pending_payment_credits_nothing(
    ingest: str, emulator: BackgroundServer, kafka: KafkaSettings
) -> None:
    payment_id = buy(ingest, 7002)
    forged = {
        "type": "notification",
        "event": "payment.succeeded",
        "object": {
            "id": payment_id,
            "status": "succeeded",
            "paid": True,
            "amount": {"value": "199.00", "currency": "RUB"},
        },
    }
    delivery = _send_raw(emulator, json.dumps(forged).encode())
    assert answered(delivery) == 409  # the API says pending: YooKassa may ask again later
    assert await published_for(kafka, payment_id) == []


async def test_forged_notification_for_an_unknown_payment_credits_nothing(
    ingest: str, emulator: BackgroundServer, kafka: KafkaSettings
) -> None:
    forged_id = "2f5a0e6b-000f-5000-8000-000000000000"
    forged = {
        "type": "notification",
        "event": "payment.succeeded",
        "object": {"id": forged_id, "status": "succeeded", "paid": True},
    }
    assert answered(_send_raw(emulator, json.dumps(forged).encode())) == 400
    assert await published_for(kafka, forged_id) == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"type": "notification"}',
        b'{"type":"notification","event":"payment.succeeded","object":{"id":"../../x"}}',
    ],
)
async def test_malformed_body_is_refused(
    ingest: str, emulator: BackgroundServer, body: bytes
) -> None:
    assert answered(_send_raw(emulator, body)) == 400


def test_untrusted_source_is_refused(ingest: str) -> None:
    stranger = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    body = {"type": "notification", "event": "payment.succeeded", "object": {"id": "x"}}
    assert stranger.post(f"{ingest}/webhooks/yookassa", json=body).status_code == 403
    forwarded = stranger.post(
        f"{ingest}/webhooks/yookassa", json=body, headers={"X-Forwarded-For": "127.0.0.1"}
    )
    assert forwarded.status_code == 403  # only a trusted proxy may say who the client is
    stranger.close()


def test_payments_api_needs_the_token(ingest: str) -> None:
    order = {"telegram_id": 1, "plan": "month_1", "order_id": "o1"}
    assert httpx.post(f"{ingest}/payments", json=order).status_code == 401
    wrong = httpx.post(f"{ingest}/payments", json=order, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    unknown_plan = httpx.post(
        f"{ingest}/payments",
        json={**order, "plan": "forever"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert unknown_plan.status_code == 422


async def test_kafka_down_answers_503_and_the_redelivery_credits_once(
    ingest: str,
    emulator: BackgroundServer,
    worker: Program,
    private_kafka: Kafka,
    db: Database[Document],
    kafka: KafkaSettings,
) -> None:
    await started(kafka, 7003)
    payment_id = buy(ingest, 7003)
    private_kafka.stop()
    try:
        refused = control(emulator, f"payments/{payment_id}/pay")["deliveries"][0]
        assert answered(refused) == 503
    finally:
        await asyncio.to_thread(private_kafka.start)
    await asyncio.sleep(1)
    redelivered = control(emulator, f"deliveries/{refused['id']}/redeliver")["deliveries"][0]
    assert answered(redelivered) == 200
    await eventually(lambda: user_doc(db, 7003).get("purchases") == 1, timeout_s=90)
    # The send that timed out may still land once the broker is back: under the same
    # event id, so it changes nothing.
    assert len(await event_ids_for(kafka, payment_id)) == 1
    assert user_doc(db, 7003)["purchases"] == 1


def _send_raw(emulator: BackgroundServer, body: bytes) -> dict[str, Any]:
    answer = httpx.post(
        f"{emulator.url}/emulator/notifications", params={"wait": "true"}, content=body, timeout=30
    )
    assert answer.status_code == 200, answer.text
    delivery: dict[str, Any] = answer.json()["deliveries"][0]
    return delivery


async def test_refund_through_yookassa_takes_the_time_back(
    ingest: str,
    emulator: BackgroundServer,
    worker: Program,
    db: Database[Document],
    kafka: KafkaSettings,
) -> None:
    await started(kafka, 7004)
    payment_id = buy(ingest, 7004)
    control(emulator, f"payments/{payment_id}/pay")
    await eventually(lambda: user_doc(db, 7004).get("purchases") == 1, worker)
    refund = control(emulator, f"payments/{payment_id}/refund")["deliveries"][0]
    assert answered(refund) == 200
    await eventually(
        lambda: (
            user_doc(db, 7004)["until"]
            <= user_doc(db, 7004)["last_purchase_at"] + timedelta(seconds=5)
        ),
        worker,
    )
    assert [e.type for e in await published_for(kafka, payment_id)] == [
        "PaymentSucceeded",
        "RefundSucceeded",
    ]


async def test_canceled_payment_is_published_for_the_notifier(
    ingest: str, emulator: BackgroundServer, kafka: KafkaSettings
) -> None:
    payment_id = buy(ingest, 7005)
    canceled = control(emulator, f"payments/{payment_id}/cancel")["deliveries"][0]
    assert answered(canceled) == 200
    published = await published_for(kafka, payment_id)
    assert [e.type for e in published] == ["PaymentCanceled"]
    assert published[0].payload.partition_key() == "7005"


async def held_for(kafka: KafkaSettings, payment_id: str) -> PaymentHeld:
    published = await published_for(kafka, payment_id)
    assert [e.type for e in published] == ["PaymentHeld"]
    held = published[0].payload
    assert isinstance(held, PaymentHeld)
    return held


async def test_one_rouble_claiming_twelve_months_is_held_not_credited(
    ingest: str,
    emulator: BackgroundServer,
    worker: Program,
    db: Database[Document],
    kafka: KafkaSettings,
) -> None:
    await started(kafka, 7101)
    await eventually(lambda: user_doc(db, 7101).get("registered") is True, worker)
    payment_id = shop_payment(emulator, "1.00", {"telegram_id": "7101", "plan": "month_12"})
    assert answered(control(emulator, f"payments/{payment_id}/pay")["deliveries"][0]) == 200
    held = await held_for(kafka, payment_id)
    assert (held.reason, held.telegram_id, held.plan) == (HoldReason.NO_ORDER, 7101, "month_12")
    await eventually(
        lambda: (
            (db["payments"].find_one({"_id": f"yookassa:{payment_id}"}) or {}).get("status")
            == "held"
        ),
        worker,
    )
    assert user_doc(db, 7101).get("until") is None
    assert user_doc(db, 7101)["purchases"] == 0


async def test_our_order_paid_with_less_than_its_price_is_held(
    ingest: str,
    emulator: BackgroundServer,
    worker: Program,
    db: Database[Document],
    kafka: KafkaSettings,
) -> None:
    ours = buy(ingest, 7102, "month_12")
    order_id = control(emulator, f"payments/{ours}/cancel")["object"]["metadata"]["order_id"]
    metadata = {"telegram_id": "7102", "plan": "month_12", "order_id": order_id}
    cheap = shop_payment(emulator, "1.00", metadata)
    assert answered(control(emulator, f"payments/{cheap}/pay")["deliveries"][0]) == 200
    assert (await held_for(kafka, cheap)).reason is HoldReason.AMOUNT_MISMATCH


async def test_payment_for_an_id_that_never_started_is_held_until_their_start(
    ingest: str,
    emulator: BackgroundServer,
    worker: Program,
    db: Database[Document],
    kafka: KafkaSettings,
) -> None:
    payment_id = buy(ingest, 7103)
    control(emulator, f"payments/{payment_id}/pay")
    await eventually(lambda: bool(user_doc(db, 7103).get("entries")), worker)
    await asyncio.sleep(1)
    assert user_doc(db, 7103)["registered"] is False
    assert user_doc(db, 7103).get("until") is None
    await started(kafka, 7103)
    await eventually(lambda: user_doc(db, 7103).get("purchases") == 1, worker)
    assert user_doc(db, 7103)["registered"] is True
    assert user_doc(db, 7103)["until"] > datetime.now(UTC) + timedelta(days=27)


async def test_a_held_payment_naming_nobody_is_refunded_to_completion(
    ingest: str,
    emulator: BackgroundServer,
    worker: Program,
    db: Database[Document],
    kafka: KafkaSettings,
) -> None:
    payment_id = shop_payment(emulator, "5.00", {"note": "paid from the dashboard"})
    assert answered(control(emulator, f"payments/{payment_id}/pay")["deliveries"][0]) == 200
    assert (await held_for(kafka, payment_id)).telegram_id is None
    refund = control(emulator, f"payments/{payment_id}/refund")
    assert answered(refund["deliveries"][0]) == 200
    published = await published_for(kafka, payment_id)
    assert [e.type for e in published] == ["PaymentHeld", "HeldPaymentRefunded"]
    assert published[1].payload.partition_key() == payment_id
    await eventually(
        lambda: (
            (db["payments"].find_one({"_id": f"yookassa:{payment_id}"}) or {}).get("refunds")
            == {refund["object"]["id"]: "5.00"}
        ),
        worker,
    )


async def test_the_ingest_creates_the_orders_lookup_index_at_start(
    ingest: str, mongo_settings: MongoSettings
) -> None:
    """Every webhook reads its order by ``_id``: on FerretDB over PostgreSQL only the GIN
    pushdown index keeps that from reading the whole ``orders`` table."""
    if not mongo_settings.postgres_url:
        pytest.skip("needs FerretDB on PostgreSQL (KEYLAND_MONGO_POSTGRES_URL)")

    def orders_indexes() -> set[str]:
        with psycopg.connect(mongo_settings.postgres_url) as pg:
            rows = pg.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND indexname LIKE %s",
                [mongo_settings.database, "orders_%_gin"],
            ).fetchall()
        return {name for (name,) in rows}

    await eventually(lambda: len(orders_indexes()) == 1)
