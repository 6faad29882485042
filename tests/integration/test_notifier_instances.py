"""Two notifier instances in one group broadcast at one bot's pace: one instance sends a
broadcast's messages (Telegram's ceiling is the bot's, not each instance's), the admin
gets one progress message, and when that instance is SIGKILLed the other carries on with
the pending deliveries, nobody messaged twice."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from pymongo.database import Database

from emulators.serving import BackgroundServer
from events import Envelope
from events.admin_commands import BroadcastRequested
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.settings import KafkaSettings
from tests.integration.test_broadcast import broadcast_messages
from tests.notifier_harness import BOT, notifier, telegram
from tests.processes import Program
from tests.user_docs import notifier_profile
from tests.waiting import eventually
from tests.worker_instances import settled, worker_instances

USERS = range(510_000, 510_300)
ADMIN = 509_999


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundServer]:
    with telegram() as server:
        yield server


@pytest.fixture(scope="module")
def instances(
    service_env: dict[str, str],
    created_topics: TopicNames,
    emulator: BackgroundServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[Program]]:
    root = tmp_path_factory.mktemp("notifiers")
    # 40 a second: 300 messages take several terms of 3 s, so the turn must be kept.
    shape = notifier(
        service_env, emulator, root, messages_per_second="40", broadcast_term_s="3",
        claim_lease_s="3",
    )  # fmt: skip
    with worker_instances("services.notifier", shape.env, root, 2) as programs:
        yield programs


async def seed(client: httpx.AsyncClient, db: Database[Document]) -> None:
    """The users and their admin started the bot; the notifier knows the users."""
    gate = asyncio.Semaphore(50)

    async def started(telegram_id: int) -> None:
        user = {"id": telegram_id, "first_name": f"U{telegram_id}", "language_code": "en"}
        async with gate:
            sent = await client.post(
                f"/emulator/bots/{BOT}/messages", json={"user": user, "text": "/start"}
            )
        sent.raise_for_status()

    await asyncio.gather(*(started(tg) for tg in [ADMIN, *USERS]))
    db.profiles.insert_many(
        [notifier_profile(tg, registered=True, language_code="en") for tg in USERS]
    )


def delivery_claims(db: Database[Document]) -> Counter[str]:
    return Counter(c["instance"] for c in db.claims.find({"kind": "delivery"}))


async def test_one_instance_broadcasts_and_the_other_carries_on_when_it_dies(
    instances: list[Program],
    emulator: BackgroundServer,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    service_env: dict[str, str],
) -> None:
    group = service_env["KEYLAND_SUBSCRIPTION_APP_ID"].replace("subscription", "notifier")
    await settled(kafka_settings.bootstrap, group, members=2)
    async with httpx.AsyncClient(base_url=emulator.url, timeout=60) as client:
        await seed(client, db)
        broadcast_id = str(uuid.uuid4())
        request = BroadcastRequested(
            broadcast_id=uuid.UUID(broadcast_id), admin_id=ADMIN, text="Keyland news: two senders"
        )
        await publisher.publish(
            Envelope.new(request, producer="tests", occurred_at=datetime.now(UTC))
        )
        await eventually(
            lambda: db.broadcast_deliveries.count_documents({"status": "sent"}) >= 150,
            *instances,
            timeout_s=120,
        )
        [(holder, _)] = delivery_claims(db).items()  # one instance sends, across terms
        dying = instances[int(holder.removeprefix("i"))]
        dying.kill()
        survivor = next(p for p in instances if p is not dying)
        await eventually(
            lambda: (db.broadcasts.find_one({"_id": broadcast_id}) or {}).get("status") == "done",
            survivor,
            timeout_s=120,
        )
        gate = asyncio.Semaphore(50)

        async def received(tg: int) -> int:
            async with gate:
                return len(await broadcast_messages(client, tg))

        counts = await asyncio.gather(*(received(tg) for tg in USERS))
        admin_chat = (
            await client.get(
                f"/emulator/bots/{BOT}/chats/{ADMIN}/messages", params={"sender": "bot"}
            )
        ).json()

    claims = delivery_claims(db)
    assert set(claims) == {"i0", "i1"}, "the survivor took the pending deliveries over"
    assert max(counts) == 1, "nobody twice"
    statuses = {
        d["telegram_id"]: d["status"]
        for d in db.broadcast_deliveries.find({"broadcast_id": broadcast_id})
    }
    assert set(statuses.values()) <= {"sent", "unconfirmed"}
    unconfirmed = {tg for tg, status in statuses.items() if status == "unconfirmed"}
    assert {tg for tg, n in zip(USERS, counts, strict=True) if n == 0} <= unconfirmed
    assert len(unconfirmed) <= 16, "at most the sends in flight when the holder died"
    progress = [m for m in admin_chat["messages"] if "📣" in str(m.get("text"))]
    assert len(progress) == 1
