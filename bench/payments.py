"""Payments benchmark against the running local stack (``make up``).

1. Latency: YooKassa marks N payments paid at once (N = 1, 10, 100); for each, the time
   from that moment to the ``SubscriptionExtended`` fact on Kafka (webhook → ingest →
   API re-fetch → Kafka → subscription processor → Kafka). Prints p50/p99/max.
2. Throughput: paid notifications posted straight to the ingest webhook with 64 in flight;
   sustained accepted payments per second (each one API-confirmed and acked by Kafka).

Run: ``make bench`` (or ``.venv/bin/python -m bench.payments`` with the stack up).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid

import httpx
from aiokafka import AIOKafkaConsumer
from dotenv import dotenv_values

from bench.measure import quantile
from events import decode
from events.registry import TopicNames
from keyland.mongo import database
from keyland.settings import KafkaSettings, MongoSettings, load
from tests.starts import started as users_started

LOCAL = {k: v for k, v in dotenv_values("var/local.env").items() if v is not None}
INGEST = f"http://127.0.0.1:{os.environ.get('KEYLAND_PAYMENTS_PORT', '8080')}"
EMULATOR = "http://127.0.0.1:8765"
TOKEN = (
    os.environ.get("KEYLAND_PAYMENTS_INTERNAL_TOKEN") or LOCAL["KEYLAND_PAYMENTS_INTERNAL_TOKEN"]
)


async def create_payments(
    client: httpx.AsyncClient, count: int, telegram_ids: list[int] | None = None
) -> list[str]:
    """``count`` pending month payments at the ingest, one per user of ``telegram_ids``
    (default: fresh ids, who send /start first: money for an id that never started the
    bot is held, not credited)."""
    base = 10_000_000 + int(time.time()) % 1_000_000 * 100
    payers = telegram_ids or [base + i for i in range(count)]
    if telegram_ids is None:
        db = database(load(MongoSettings), app_name="bench")
        try:
            await users_started(load(KafkaSettings), db, payers)
        finally:
            db.client.close()

    async def one(telegram_id: int) -> str:
        answer = await client.post(
            f"{INGEST}/payments",
            json={"telegram_id": telegram_id, "plan": "month_1", "order_id": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        answer.raise_for_status()
        return str(answer.json()["payment_id"])

    return list(await asyncio.gather(*(one(t) for t in payers[:count])))


async def latency_round(
    client: httpx.AsyncClient, consumer: AIOKafkaConsumer, count: int
) -> list[float]:
    payments = await create_payments(client, count)
    pending = set(payments)
    started: dict[str, float] = {}
    arrived: dict[str, float] = {}

    async def pay(payment_id: str) -> None:
        started[payment_id] = time.perf_counter()
        (await client.post(f"{EMULATOR}/emulator/payments/{payment_id}/pay")).raise_for_status()

    async def watch() -> None:
        while pending:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                for record in batch:
                    envelope = decode(record.value)
                    payment_id = str(getattr(envelope.payload, "payment_id", "")).removeprefix(
                        "yookassa:"
                    )
                    if envelope.type == "SubscriptionExtended" and payment_id in pending:
                        arrived[payment_id] = time.perf_counter()
                        pending.discard(payment_id)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(pay(p) for p in payments))
    await asyncio.wait_for(watcher, timeout=120)
    return sorted(arrived[p] - started[p] for p in payments)


async def throughput(client: httpx.AsyncClient, count: int, in_flight: int = 64) -> float:
    payments = await create_payments(client, count)
    await client.put(f"{EMULATOR}/emulator/webhook", json={"url": None})
    try:
        for payment_id in payments:
            (await client.post(f"{EMULATOR}/emulator/payments/{payment_id}/pay")).raise_for_status()
    finally:
        await client.put(
            f"{EMULATOR}/emulator/webhook", json={"url": f"{INGEST}/webhooks/yookassa"}
        )
    gate = asyncio.Semaphore(in_flight)

    async def notify(payment_id: str) -> None:
        body = {"type": "notification", "event": "payment.succeeded", "object": {"id": payment_id}}
        async with gate:
            answer = await client.post(f"{INGEST}/webhooks/yookassa", json=body)
            assert answer.status_code == 200, answer.text

    started = time.perf_counter()
    await asyncio.gather(*(notify(p) for p in payments))
    return count / (time.perf_counter() - started)


async def main() -> None:
    kafka = load(KafkaSettings)
    consumer = AIOKafkaConsumer(
        TopicNames(kafka.topic_prefix)("subscriptions"),
        bootstrap_servers=kafka.bootstrap,
        auto_offset_reset="latest",
    )
    await consumer.start()
    await consumer.getmany(timeout_ms=1000)  # join and position at the end
    # Idle connections are dropped before the ingest's own keep-alive timeout (5 s) closes
    # them under a request (a ReadError between rounds otherwise).
    limits = httpx.Limits(max_connections=200, keepalive_expiry=1.0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        print("webhook → SubscriptionExtended latency (ms)")
        print(f"{'concurrent':>10} {'p50':>8} {'p99':>8} {'max':>8}")
        for count in (1, 10, 100):
            samples = await latency_round(client, consumer, count)
            ms = [s * 1000 for s in samples]
            print(
                f"{count:>10} {statistics.median(ms):>8.1f} {quantile(ms, 0.99):>8.1f} {max(ms):>8.1f}"
            )
        rate = await throughput(client, 500)
        print(f"sustained: {rate:.0f} payments/s accepted into Kafka (500 webhooks, 64 in flight)")
    await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main())
