"""Two payments ingest instances on one port (``SO_REUSEPORT``): both start, YooKassa's
webhooks reach whichever listens, and when one is SIGKILLed the address keeps answering:
every payment's notification is still acknowledged and published."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from emulators.serving import BackgroundServer
from emulators.yookassa import DeliveryPolicy
from events.registry import TopicNames
from keyland.settings import KafkaSettings
from tests.kafka_tail import read_topic
from tests.processes import free_port
from tests.services import RunningIngest, payments_ingest, yookassa_emulator

SHOP, SECRET, TOKEN = "100777", "shared-port-secret", "shared-port-token"


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def emulator(port: int) -> Iterator[BackgroundServer]:
    delivery = DeliveryPolicy(attempts=5, base_delay_s=0.2, timeout_s=10)
    with yookassa_emulator((SHOP, SECRET), port, delivery) as server:
        yield server


@pytest.fixture(scope="module")
def ingests(
    service_env: dict[str, str],
    created_topics: TopicNames,
    emulator: BackgroundServer,
    port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[RunningIngest]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                payments_ingest(
                    service_env,
                    tmp_path_factory.mktemp(f"ingest-{n}"),
                    port=port,
                    token=TOKEN,
                    shop=(SHOP, SECRET),
                    yookassa_url=emulator.url,
                )
            )
            for n in range(2)
        ]


def pay(ingest: RunningIngest, emulator: BackgroundServer, telegram_id: int) -> dict[str, Any]:
    order = {"telegram_id": telegram_id, "plan": "month_1", "order_id": uuid.uuid4().hex}
    made = httpx.post(
        f"{ingest.url}/payments", json=order, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert made.status_code == 201, made.text
    paid = httpx.post(
        f"{emulator.url}/emulator/payments/{made.json()['payment_id']}/pay",
        params={"wait": "true"},
        timeout=30,
    )
    assert paid.status_code == 200, paid.text
    delivery: dict[str, Any] = paid.json()["deliveries"][0]
    return delivery


async def test_two_ingests_share_a_port_and_one_dying_loses_no_webhook(
    ingests: list[RunningIngest], emulator: BackgroundServer, kafka_settings: KafkaSettings
) -> None:
    assert all(i.program.process and i.program.process.poll() is None for i in ingests)
    first = [pay(ingests[0], emulator, 8_100_000 + n) for n in range(10)]
    ingests[0].program.kill()
    then = [pay(ingests[1], emulator, 8_200_000 + n) for n in range(10)]
    deliveries = [*first, *then]
    assert [d["attempts"][-1]["status"] for d in deliveries] == [200] * len(deliveries)
    topic = TopicNames(kafka_settings.topic_prefix)("payments")
    published = await read_topic(kafka_settings.bootstrap, topic, timeout_s=3)
    succeeded = {e.payload.payment_id for e in published if e.type == "PaymentSucceeded"}  # type: ignore[attr-defined]
    assert {d["payment_id"] for d in deliveries} <= succeeded
