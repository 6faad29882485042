"""Automatic renewal through the real services: YooKassa emulator → payments ingest →
Kafka → subscription worker (renewal sweep, charge through the ingest) → emulator again.

The worker's renewal lead is longer than the first access bought here, so a renewal is
due as soon as the method is saved, and a renewed month puts the next one weeks away.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pymongo.database import Database

from emulators.serving import BackgroundServer
from emulators.yookassa import DeliveryPolicy
from events import Envelope, Event
from events.bot_actions import RenewalTurnedOff
from events.payments import (
    PaymentCanceled,
    PaymentMethodSaved,
    PaymentSucceeded,
    RenewalDeclined,
)
from events.registry import TopicNames
from events.subscriptions import RenewalDue
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.periods import extend
from keyland.settings import KafkaSettings
from tests.kafka_tail import read_topic
from tests.processes import Program, free_port, wait_http
from tests.services import RunningIngest, payments_ingest, subscription_worker, yookassa_emulator
from tests.starts import publish_starts, wait_registered
from tests.user_docs import user_doc
from tests.waiting import eventually

SHOP, SECRET, TOKEN = "100500", "test_secret_key", "internal-test-token"
ATTEMPTS = 3


@pytest.fixture(scope="module")
def ingest_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def emulator(ingest_port: int) -> Iterator[BackgroundServer]:
    delivery = DeliveryPolicy(attempts=8, base_delay_s=0.2, timeout_s=10)
    with yookassa_emulator((SHOP, SECRET), ingest_port, delivery) as server:
        yield server


@pytest.fixture(scope="module")
def ingest(
    service_env: dict[str, str],
    created_topics: TopicNames,
    emulator: BackgroundServer,
    ingest_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningIngest]:
    with payments_ingest(
        service_env,
        tmp_path_factory.mktemp("ingest"),
        port=ingest_port,
        token=TOKEN,
        shop=(SHOP, SECRET),
        yookassa_url=emulator.url,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def worker(
    service_env: dict[str, str],
    created_topics: TopicNames,
    ingest: RunningIngest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Program]:
    with subscription_worker(
        service_env,
        tmp_path_factory.mktemp("worker"),
        KEYLAND_SUBSCRIPTION_RENEWAL_LEAD_S=str(45 * 24 * 3600),
        KEYLAND_SUBSCRIPTION_RENEWAL_ATTEMPTS=str(ATTEMPTS),
        KEYLAND_SUBSCRIPTION_RENEWAL_BACKOFF_S="1",
        KEYLAND_SUBSCRIPTION_SWEEP_INTERVAL_S="0.2",
        KEYLAND_SUBSCRIPTION_PAYMENTS_URL=ingest.url,
        KEYLAND_SUBSCRIPTION_PAYMENTS_TOKEN=TOKEN,
        KEYLAND_SUBSCRIPTION_PAYMENTS_TIMEOUT_S="3",
    ) as program:
        yield program


async def registered(kafka: KafkaSettings, db: Database[Document], telegram_id: int) -> None:
    await publish_starts(kafka, [telegram_id])
    await wait_registered(db, [telegram_id], timeout_s=60)


def buy_with_renewal(ingest: RunningIngest, telegram_id: int) -> str:
    answer = httpx.post(
        f"{ingest.url}/payments",
        json={
            "telegram_id": telegram_id,
            "plan": "month_1",
            "order_id": uuid.uuid4().hex,
            "save_payment_method": True,
        },
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["payment_id"])


def control(emulator: BackgroundServer, path: str, **params: Any) -> dict[str, Any]:
    answer = httpx.post(f"{emulator.url}/emulator/{path}", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def deliveries(emulator: BackgroundServer, *, wait: bool = True) -> list[dict[str, Any]]:
    """Every notification the emulator sent (once those in flight are done, if ``wait``)."""
    answer = httpx.get(
        f"{emulator.url}/emulator/deliveries", params={"wait": str(wait).lower()}, timeout=60
    )
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def charges(emulator: BackgroundServer, other_than: set[str]) -> set[str]:
    """Payments that succeeded on the shop, but for those in ``other_than``."""
    succeeded = deliveries(emulator, wait=False)
    return {d["payment_id"] for d in succeeded if d["event"] == "payment.succeeded"} - other_than


def set_webhook(emulator: BackgroundServer, url: str) -> None:
    answer = httpx.put(f"{emulator.url}/emulator/webhook", json={"url": url}, timeout=10)
    assert answer.status_code == 200, answer.text


def notify(ingest: RunningIngest, emulator: BackgroundServer, payment_id: str) -> None:
    """YooKassa's notification of the payment as it now is, sent to the ingest by hand."""
    payment = httpx.get(
        f"{emulator.url}/v3/payments/{payment_id}", auth=(SHOP, SECRET), timeout=10
    ).json()
    body = {"type": "notification", "event": f"payment.{payment['status']}", "object": payment}
    answer = httpx.post(f"{ingest.url}/webhooks/yookassa", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def renewal_requests(ingest: RunningIngest) -> float:
    """Renewal charges the ingest was asked for since it started (its /metrics)."""
    text = httpx.get(
        f"{ingest.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("keyland_renewal_requests_total{")
    )


def ask_renewal(ingest: RunningIngest, due: RenewalDue) -> httpx.Response:
    """Ask the ingest for ``due``'s charge directly, as the worker does."""
    return httpx.post(
        f"{ingest.url}/payments/renewals",
        json={
            "telegram_id": due.telegram_id,
            "plan": due.plan,
            "method_id": due.method_id,
            "period_end": due.period_end.isoformat(),
            "attempt": due.attempt,
        },
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )


def pay(emulator: BackgroundServer, payment_id: str, *, wait: bool = True) -> str:
    """The payer pays; the id of the method the payment saved."""
    paid = control(emulator, f"payments/{payment_id}/pay", wait=str(wait).lower())
    return str(paid["object"]["payment_method"]["id"])


async def events_of(
    kafka: KafkaSettings, topic: str, telegram_id: int, timeout_s: float = 2
) -> list[Envelope[Event]]:
    found = await read_topic(
        kafka.bootstrap, TopicNames(kafka.topic_prefix)(topic), timeout_s=timeout_s
    )
    return [e for e in found if getattr(e.payload, "telegram_id", None) == telegram_id]


async def handled_up_to_now(
    kafka: KafkaSettings, db: Database[Document], telegram_id: int, worker: Program
) -> None:
    """Until the worker handled every payment event of the user published so far: a
    method saved now, after them on the user's partition, is seen applied."""
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    publisher = EventPublisher.from_settings(kafka, client_id="tests")
    try:
        saved = PaymentMethodSaved(
            telegram_id=telegram_id,
            payment_id=marker,
            method_id=marker,
            plan="month_1",
            saved_at=datetime.now(UTC),
        )
        await publisher.publish(
            Envelope.new(saved, producer="payments_ingest", occurred_at=saved.saved_at)
        )
    finally:
        await publisher.close()
    await eventually(
        lambda: (user_doc(db, telegram_id).get("renewal") or {}).get("method_id") == marker,
        worker,
    )


def credited(events: list[Envelope[Event]]) -> set[str]:
    return {e.payload.payment_id for e in events if isinstance(e.payload, PaymentSucceeded)}


async def test_bought_with_renewal_the_method_is_charged_when_due_and_extends_once(
    ingest: RunningIngest,
    emulator: BackgroundServer,
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
) -> None:
    await registered(kafka_settings, db, 8101)
    first = buy_with_renewal(ingest, 8101)
    pay(emulator, first)

    await eventually(lambda: user_doc(db, 8101).get("purchases") == 2, worker, timeout_s=90)
    doc = user_doc(db, 8101)
    payments = await events_of(kafka_settings, "payments", 8101)
    [renewal] = credited(payments) - {first}
    bought = next(
        e.payload
        for e in payments
        if isinstance(e.payload, PaymentSucceeded) and e.payload.payment_id == first
    )
    assert doc["until"] == extend(extend(bought.paid_at, 1, 0), 1, 0)  # two months, once
    assert doc["auto_renewal"] is True
    assert doc["renews_at"] is not None  # the next end's charge, weeks away

    # Read again (a replay, a redelivery): the same charge, nothing new.
    [due] = [
        e
        for e in await events_of(kafka_settings, "subscriptions", 8101)
        if isinstance(e.payload, RenewalDue)
    ]
    publisher = EventPublisher.from_settings(kafka_settings, client_id="tests")
    try:
        await publisher.publish(due)
    finally:
        await publisher.close()
    assert isinstance(due.payload, RenewalDue)
    answer = ask_renewal(ingest, due.payload)
    assert (answer.status_code, answer.json()["payment_id"]) == (201, renewal)
    await asyncio.sleep(2)
    assert credited(await events_of(kafka_settings, "payments", 8101)) == {first, renewal}
    assert user_doc(db, 8101)["purchases"] == 2


async def test_declined_renewal_is_retried_a_bounded_number_of_times(
    ingest: RunningIngest,
    emulator: BackgroundServer,
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
) -> None:
    await registered(kafka_settings, db, 8102)
    first = buy_with_renewal(ingest, 8102)
    method = pay(emulator, first, wait=False)
    control(emulator, f"payment_methods/{method}/decline", times="100")

    # Every attempt declined: once they are spent, nothing is due any more.
    await eventually(
        lambda: (
            user_doc(db, 8102).get("auto_renewal") is True
            and user_doc(db, 8102).get("renewal") is None
        ),
        worker,
        timeout_s=90,
    )
    payments = await events_of(kafka_settings, "payments", 8102)
    declines = [e.payload for e in payments if isinstance(e.payload, RenewalDeclined)]
    assert sorted(d.attempt for d in declines) == list(range(ATTEMPTS))
    assert len({d.payment_id for d in declines}) == ATTEMPTS
    assert not [e for e in payments if isinstance(e.payload, PaymentCanceled)]
    assert credited(payments) == {first}
    assert user_doc(db, 8102)["purchases"] == 1


async def test_turned_off_renewal_charges_nothing_more(
    ingest: RunningIngest,
    emulator: BackgroundServer,
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
) -> None:
    await registered(kafka_settings, db, 8103)
    first = buy_with_renewal(ingest, 8103)
    method = pay(emulator, first, wait=False)
    control(emulator, f"payment_methods/{method}/decline", times="100")
    await eventually(
        lambda: (user_doc(db, 8103).get("renewal") or {}).get("attempt") == 1,
        worker,
        timeout_s=60,
    )

    publisher = EventPublisher.from_settings(kafka_settings, client_id="tests")
    try:
        await publisher.publish(
            Envelope.new(
                RenewalTurnedOff(telegram_id=8103), producer="bot", occurred_at=datetime.now(UTC)
            )
        )
    finally:
        await publisher.close()

    await eventually(lambda: user_doc(db, 8103).get("auto_renewal") is False, worker)
    assert user_doc(db, 8103)["renewal"] is None
    # The retry filed before renewal was turned off is swept and found no longer due.
    await eventually(lambda: db["renewal_due"].count_documents({"telegram_id": 8103}) == 0)
    payments = await events_of(kafka_settings, "payments", 8103)
    assert len([e for e in payments if isinstance(e.payload, RenewalDeclined)]) <= 1
    assert credited(payments) == {first}


async def test_a_renewal_charge_replayed_across_crashes_is_made_and_credited_once(
    ingest: RunningIngest,
    emulator: BackgroundServer,
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
) -> None:
    await registered(kafka_settings, db, 8104)
    earlier = {d["payment_id"] for d in deliveries(emulator, wait=False)}
    set_webhook(emulator, f"http://127.0.0.1:{free_port()}/nowhere")  # notifications lost
    first = buy_with_renewal(ingest, 8104)
    pay(emulator, first, wait=False)
    notify(ingest, emulator, first)  # the first payment's, by hand
    # The renewal is due at once: charged through the ingest, its success never heard.
    await eventually(lambda: bool(charges(emulator, earlier | {first})), worker, timeout_s=60)
    [charge] = charges(emulator, earlier | {first})

    # Both crash; the RenewalDue is read again (a replay), still due: the worker asks again.
    worker.kill()
    ingest.program.kill()
    [due] = [
        e
        for e in await events_of(kafka_settings, "subscriptions", 8104)
        if isinstance(e.payload, RenewalDue)
    ]
    publisher = EventPublisher.from_settings(kafka_settings, client_id="tests")
    try:
        await publisher.publish(due)
    finally:
        await publisher.close()
    ingest.program.start()
    wait_http(f"{ingest.url}/health", ingest.program)
    worker.start()
    await eventually(lambda: renewal_requests(ingest) >= 1, worker, timeout_s=60)

    # The success heard at last, twice over, across another crash.
    set_webhook(emulator, f"{ingest.url}/webhooks/yookassa")
    for delivery in deliveries(emulator, wait=False):
        if delivery["payment_id"] == charge and delivery["copy"] == 1:
            control(emulator, f"deliveries/{delivery['id']}/redeliver", copies="2", wait="true")
    await eventually(lambda: user_doc(db, 8104).get("purchases") == 2, worker, timeout_s=60)
    worker.kill()
    worker.start()
    notify(ingest, emulator, charge)
    await handled_up_to_now(kafka_settings, db, 8104, worker)

    assert charges(emulator, earlier | {first}) == {charge}  # charged once
    payments = await events_of(kafka_settings, "payments", 8104)
    assert credited(payments) == {first, charge}
    assert user_doc(db, 8104)["purchases"] == 2
