"""Notifier benchmark: broadcast rate at Telegram's ceiling, notice lateness at scale.

Against the local Kafka and database (``make infra``), in their own topics and database:
a Telegram emulator enforcing 30 messages/s (1 per chat) and a real notifier process.

1. Broadcast: N users; sustained messages/s, lost, duplicated, 429s answered.
2. Lateness: 100,000 notices scheduled, of which 300 fall due over the next 30 s;
   p50/p99/max of (sent - due) for those 300.

Run: ``make bench`` or ``.venv/bin/python -m bench.notifier [users]``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pymongo.database import Database

from bench.local import database_env, shared_database
from emulators.serving import BackgroundServer
from emulators.telegram import BotAccount, EmulatorConfig, RateLimits, build_app
from events import Envelope
from events.admin_commands import BroadcastRequested, TestNotificationRequested
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.kafka.topics import ensure_topics
from keyland.mongo import Document, database, user_document_id
from keyland.settings import KafkaSettings, MongoSettings, load
from keyland.time_buckets import hour_key, minute_key
from services.notifier.domain.profiles import Profile

TOKEN, BOT = "700200:bench-notifier-token", "keyland_bench_bot"
ADMIN = 1

Alive = Callable[[bool], None]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def seed_chats(client: httpx.AsyncClient, ids: list[int]) -> None:
    gate = asyncio.Semaphore(50)

    async def wrote(telegram_id: int) -> None:
        async with gate:
            user = {"id": telegram_id, "first_name": "U", "language_code": "en"}
            answer = await client.post(
                f"/emulator/bots/{BOT}/messages", json={"user": user, "text": "/start"}
            )
            answer.raise_for_status()

    await asyncio.gather(*(wrote(tg) for tg in ids))


def start_notifier(
    kafka: KafkaSettings, mongo: MongoSettings, api_url: str, run: str
) -> tuple[subprocess.Popen[bytes], Path]:
    data = tempfile.mkdtemp(prefix="bench-notifier-")
    env = {
        **os.environ,
        "KEYLAND_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "KEYLAND_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        **database_env(mongo),
        "KEYLAND_NOTIFIER_APP_ID": f"bench-{run}-notifier",
        "KEYLAND_NOTIFIER_DATA_DIR": data,
        "KEYLAND_NOTIFIER_BOT_TOKEN": TOKEN,
        "KEYLAND_NOTIFIER_TELEGRAM_API_URL": api_url,
        "KEYLAND_NOTIFIER_MESSAGES_PER_SECOND": "30",
    }
    log = Path(data) / "notifier.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.notifier"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log


async def received(client: httpx.AsyncClient, ids: list[int]) -> list[int]:
    gate = asyncio.Semaphore(50)

    async def count(tg: int) -> int:
        async with gate:
            answer = await client.get(
                f"/emulator/bots/{BOT}/chats/{tg}/messages", params={"sender": "bot"}
            )
            return len(answer.json()["messages"])

    return list(await asyncio.gather(*(count(tg) for tg in ids)))


async def broadcast_round(
    client: httpx.AsyncClient,
    db: Database[Document],
    publisher: EventPublisher,
    users: int,
    alive: Alive,
) -> float:
    recipients = list(range(600_000, 600_000 + users))
    await seed_chats(client, [ADMIN, *recipients])
    db.profiles.insert_many(  # the notifier's own profiles, as it stores them
        [
            {
                "_id": user_document_id(tg),
                **asdict(Profile(tg, registered=True, language_code="en")),
            }
            for tg in recipients
        ]
    )
    broadcast_id = str(uuid.uuid4())
    request = BroadcastRequested(
        broadcast_id=uuid.UUID(broadcast_id), admin_id=ADMIN, text="Keyland bench broadcast"
    )
    await publisher.publish(Envelope.new(request, producer="bench", occurred_at=datetime.now(UTC)))
    deadline = time.monotonic() + users / 10 + 120
    while (db.broadcasts.find_one({"_id": broadcast_id}) or {}).get("status") != "done":
        alive(time.monotonic() < deadline)
        await asyncio.sleep(0.5)
    sent_at = [
        d["at"]
        for d in db.broadcast_deliveries.find({"broadcast_id": broadcast_id, "status": "sent"})
    ]
    span = (max(sent_at) - min(sent_at)).total_seconds()
    counts = await received(client, recipients)
    throttled = sum(
        (await client.get(f"/emulator/bots/{BOT}/rate-limits")).json()["throttled"].values()
    )
    print(f"broadcast: {users} users in {span:.1f}s = {(len(sent_at) - 1) / span:.1f} msg/s sustained "
          f"(emulator ceiling 30/s); lost {counts.count(0)}, duplicated {sum(c > 1 for c in counts)}, "
          f"429s answered and retried {throttled}")  # fmt: skip
    return float((len(sent_at) - 1) / span)


def notice(notice_id: str, telegram_id: int, due: datetime, now: datetime) -> Document:
    """Stored as the notifier stores a notice, with the buckets it is loaded from."""
    return {
        "_id": notice_id, "telegram_id": telegram_id, "kind": "test", "due": due, "period_until": None,
        "values": {"text": "bench"}, "buttons": [], "planned_at": now,
        "minute": minute_key(due), "hour": hour_key(due),
    }  # fmt: skip


async def lateness_round(
    client: httpx.AsyncClient, db: Database[Document], publisher: EventPublisher, alive: Alive
) -> list[float]:
    """99,700 notices planned for the coming month, then 300 test notifications asked
    through Kafka, due over the next 30 s: how late does each go out?"""
    due_soon = list(range(700_000, 700_300))
    await seed_chats(client, due_soon)
    now = datetime.now(UTC)
    later = [
        notice(f"later-{i}", 800_000 + i, now + timedelta(days=1 + i % 30), now)
        for i in range(100_000 - len(due_soon))
    ]
    for start in range(0, len(later), 5000):
        db.notices.insert_many(later[start : start + 5000])
    asked = datetime.now(UTC)
    for i, tg in enumerate(due_soon):
        request = TestNotificationRequested(
            telegram_id=tg, admin_id=ADMIN, delay_seconds=5 + i // 10, text="due"
        )
        await publisher.publish(Envelope.new(request, producer="bench", occurred_at=asked))
    while db.notice_outcomes.count_documents({"status": "sent"}) < len(due_soon):
        alive(datetime.now(UTC) < asked + timedelta(seconds=180))
        await asyncio.sleep(0.5)
    due = {d["_id"]: d["due"] for d in db.notices.find({"telegram_id": {"$in": due_soon}})}
    lateness = [
        (o["finished_at"] - due[o["_id"]]).total_seconds() * 1000 for o in db.notice_outcomes.find()
    ]
    print(f"notice lateness with {db.notices.count_documents({}):,} notices scheduled: "
          f"p50 {statistics.median(lateness):.0f} ms, p99 {quantile(lateness, 0.99):.0f} ms, "
          f"max {max(lateness):.0f} ms over {len(lateness)} notices due within 35 s")  # fmt: skip
    return lateness


async def main(users: int) -> tuple[float, list[float]]:
    """Both rounds: the broadcast's messages/s and each due notice's lateness (ms)."""
    run = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(bootstrap=load(KafkaSettings).bootstrap, topic_prefix=f"bench{run}.")
    mongo = shared_database().model_copy(update={"database": f"bench_{run}"})
    await ensure_topics(kafka.bootstrap, TopicNames(kafka.topic_prefix))
    db = database(mongo, app_name="bench")
    limits = RateLimits(enabled=True, per_chat=1, overall=30, window_s=1.0)
    server = BackgroundServer().start(
        build_app(EmulatorConfig(bots=(BotAccount(TOKEN, BOT),), rate_limits=limits))
    )
    notifier, log = start_notifier(kafka, mongo, server.url, run)
    publisher = EventPublisher.from_settings(kafka, client_id="bench")

    def alive(in_time: bool) -> None:
        if not in_time or notifier.poll() is not None:
            raise SystemExit(f"the notifier did not finish in time; see {log}")

    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            pace = await broadcast_round(client, db, publisher, users, alive)
            lateness = await lateness_round(client, db, publisher, alive)
    finally:
        notifier.terminate()
        notifier.wait(30)
        await publisher.close()
        server.stop()
        db.client.drop_database(mongo.database)
        db.client.close()
    return pace, lateness


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1500))
