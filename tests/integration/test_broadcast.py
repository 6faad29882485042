"""A broadcast to 2,000 users survives a SIGKILL: nobody is messaged twice, no 429 is left
unhandled, and the admin sees the progress."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from pymongo.database import Database

from emulators.serving import BackgroundServer
from emulators.telegram import RateLimits
from events import Envelope
from events.admin_commands import BroadcastRequested
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from tests.notifier_harness import BOT, notifier, telegram
from tests.processes import Program
from tests.telegram_chat import Message
from tests.user_docs import stored_user
from tests.waiting import eventually

USERS = range(500_000, 502_000)
ADMIN = 499_999


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundServer]:
    with telegram(RateLimits(enabled=True, per_chat=1, overall=150, window_s=1.0)) as server:
        yield server


@pytest.fixture(scope="module")
def sender(
    service_env: dict[str, str],
    created_topics: TopicNames,
    emulator: BackgroundServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Program]:
    # Faster than the emulator allows, so Telegram answers 429 and the sender must cope.
    program = notifier(
        service_env, emulator, tmp_path_factory.mktemp("broadcast"),
        messages_per_second="200", broadcast_senders="8", claim_lease_s="3",
    ).start()  # fmt: skip
    yield program
    program.stop()


async def seed(client: httpx.AsyncClient, db: Database[Document]) -> None:
    """2,000 users who started the bot, as the subscription service would have them."""
    gate = asyncio.Semaphore(50)

    async def wrote(telegram_id: int) -> None:
        async with gate:
            user = {"id": telegram_id, "first_name": f"U{telegram_id}", "language_code": "en"}
            (
                await client.post(
                    f"/emulator/bots/{BOT}/messages", json={"user": user, "text": "/start"}
                )
            ).raise_for_status()

    await asyncio.gather(*(wrote(tg) for tg in [ADMIN, *USERS]))
    db.users.insert_many([stored_user(tg, registered=True, language_code="en") for tg in USERS])


# The buttons the admin asked for, as an English-speaking user gets them: one a row,
# labelled in their language, each opening that menu action in the bot.
BUTTONS = [
    [{"text": "Profile", "callback_data": "menu:profile"}],
    [{"text": "My keys", "callback_data": "menu:myKeys"}],
    [{"text": "Support", "callback_data": "menu:support"}],
]


async def broadcast_messages(client: httpx.AsyncClient, telegram_id: int) -> list[Message]:
    answer = await client.get(
        f"/emulator/bots/{BOT}/chats/{telegram_id}/messages", params={"sender": "bot"}
    )
    return [m for m in answer.json()["messages"] if "Keyland news" in str(m.get("text"))]


async def test_broadcast_to_2000_users_survives_a_kill(
    sender: Program, emulator: BackgroundServer, publisher: EventPublisher, db: Database[Document]
) -> None:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=60) as client:
        await seed(client, db)
        broadcast_id = uuid.uuid4()
        request = BroadcastRequested(
            broadcast_id=broadcast_id,
            admin_id=ADMIN,
            text="Keyland news: new servers",
            buttons=("profile", "myKeys", "support"),
        )
        await publisher.publish(
            Envelope.new(request, producer="tests", occurred_at=datetime.now(UTC))
        )

        await eventually(
            lambda: db.broadcast_deliveries.count_documents({"status": "sent"}) >= 400,
            sender,
            timeout_s=120,
        )
        sender.kill()
        sender.start()
        await eventually(
            lambda: (
                (db.broadcasts.find_one({"_id": str(broadcast_id)}) or {}).get("status") == "done"
            ),
            sender,
            timeout_s=180,
        )

        gate = asyncio.Semaphore(50)

        async def delivered(tg: int) -> list[Message]:
            async with gate:
                return await broadcast_messages(client, tg)

        messages = await asyncio.gather(*(delivered(tg) for tg in USERS))
        received = {tg: len(found) for tg, found in zip(USERS, messages, strict=True)}
        admin_chat = (
            await client.get(
                f"/emulator/bots/{BOT}/chats/{ADMIN}/messages", params={"sender": "bot"}
            )
        ).json()

    statuses = {
        d["telegram_id"]: d["status"]
        for d in db.broadcast_deliveries.find({"broadcast_id": str(broadcast_id)})
    }
    assert set(statuses) == set(USERS)
    assert max(received.values()) == 1  # nobody twice
    other_buttons = [m["buttons"] for found in messages for m in found if m["buttons"] != BUTTONS]
    assert other_buttons[:3] == []  # every delivered message carries exactly those
    unconfirmed = {tg for tg, status in statuses.items() if status == "unconfirmed"}
    assert {
        tg for tg, n in received.items() if n == 0
    } <= unconfirmed  # missing ones are accounted for
    assert len(unconfirmed) <= 8  # at most the sends in flight when it was killed
    assert set(statuses.values()) <= {"sent", "unconfirmed"}  # no 429 turned into a failure
    progress = [m for m in admin_chat["messages"] if "📣" in str(m.get("text"))]
    assert len(progress) == 1
    assert progress[0]["text"].endswith("— готово")  # the admin had no language: Russian
    assert progress[0]["edits"]
