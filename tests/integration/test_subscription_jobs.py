"""Expiry sweep, weekly cleanup and the read API, against a real worker."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from pymongo.database import Database

from events import Envelope, Event, external_event_id
from events.bot_actions import UserStarted
from events.payments import PaymentSucceeded
from events.registry import TopicNames
from events.traffic import TrafficCounted
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document, user_document_id
from keyland.settings import KafkaSettings
from tests.kafka_tail import read_topic
from tests.processes import ROOT, Program
from tests.services import read_api as read_api_running
from tests.user_docs import stored_user, user_doc
from tests.waiting import eventually

TOKEN = "read-api-test-token"


@pytest.fixture(scope="module")
def read_api(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with read_api_running(service_env, tmp_path_factory.mktemp("api"), TOKEN) as url:
        yield url


def paid_for_days(telegram_id: int, days: int, at: datetime) -> Envelope[Event]:
    event = PaymentSucceeded(
        telegram_id=telegram_id, payment_id=f"pay-{telegram_id}-{at.timestamp()}", plan="day", months=0,
        days=days, amount=Decimal("10.00"), currency="RUB", paid_at=at,
    )  # fmt: skip
    return Envelope.new(
        event,
        producer="tests",
        occurred_at=at,
        event_id=external_event_id("yookassa", event.payment_id, event.event_type),
    )


def started(telegram_id: int, at: datetime, username: str | None = None) -> Envelope[Event]:
    return Envelope.new(
        UserStarted(telegram_id=telegram_id, username=username), producer="tests", occurred_at=at
    )


async def expiries(
    kafka: KafkaSettings, topics: TopicNames, telegram_id: int, timeout_s: float = 2
) -> list[Envelope[Event]]:
    facts = await read_topic(kafka.bootstrap, topics("subscriptions"), timeout_s=timeout_s)
    return [
        f
        for f in facts
        if f.type == "SubscriptionExpired" and f.payload.partition_key() == str(telegram_id)
    ]


async def test_lapsed_access_is_announced_once_within_seconds(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    now = datetime.now(UTC)
    await publisher.publish(started(801, now - timedelta(days=1)))
    await publisher.publish(paid_for_days(801, 1, now - timedelta(days=1) + timedelta(seconds=3)))
    await eventually(lambda: user_doc(db, 801).get("purchases") == 1, worker)
    until = user_doc(db, 801)["until"]

    await eventually(
        lambda: db.expiry_marks.count_documents({"_id": {"$regex": "^801:"}}) == 1,
        worker,
        timeout_s=30,
    )
    announced = await expiries(kafka_settings, topics, 801)
    await asyncio.sleep(2)  # more sweeps run meanwhile
    assert len(await expiries(kafka_settings, topics, 801)) == len(announced) == 1
    assert announced[0].occurred_at == until
    assert announced[0].event_id == external_event_id(
        "expiry", f"801:{until.isoformat()}", "SubscriptionExpired"
    )


async def test_renewed_user_gets_no_expiry(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    now = datetime.now(UTC)
    await publisher.publish(started(802, now - timedelta(days=1)))
    await publisher.publish(paid_for_days(802, 1, now - timedelta(days=1) + timedelta(seconds=4)))
    await publisher.publish(paid_for_days(802, 30, now))
    await eventually(lambda: user_doc(db, 802).get("purchases") == 2, worker)
    await asyncio.sleep(6)
    assert await expiries(kafka_settings, topics, 802) == []


async def test_cleanup_lists_then_purges_long_inactive_users(
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
    service_env: dict[str, str],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=400)
    await publisher.publish(started(901, long_ago, username="gone"))
    await publisher.publish(paid_for_days(901, 30, long_ago))
    await publisher.publish(started(902, datetime.now(UTC), username="active"))
    # An empty outbox: the facts are published and the moment 901 qualifies is filed
    # (after the document itself is written).
    await eventually(
        lambda: (
            user_doc(db, 901).get("purchases") == 1
            and user_doc(db, 901).get("outbox") == []
            and user_doc(db, 902).get("registered") is True
        ),
        worker,
    )

    dry = _cleanup(service_env, "--dry-run")
    assert "901\t@gone" in dry
    assert "902" not in dry
    assert user_doc(db, 901)["registered"] is True

    _cleanup(service_env)
    await eventually(lambda: user_doc(db, 901).get("registered") is False, worker)
    purged = [
        f
        for f in await read_topic(kafka_settings.bootstrap, topics("subscriptions"), timeout_s=2)
        if f.type == "UserPurged"
    ]
    assert [f.payload.partition_key() for f in purged] == ["901"]
    assert user_doc(db, 902)["registered"] is True


def _cleanup(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "services.subscription", "cleanup", *args],
        cwd=ROOT, env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_read_api_finds_users_by_id_and_username(
    read_api: str, worker: Program, publisher: EventPublisher, db: Database[Document]
) -> None:
    await publisher.publish(started(1001, datetime.now(UTC), username="Reader"))
    await eventually(lambda: user_doc(db, 1001).get("registered") is True, worker)
    async with httpx.AsyncClient(
        base_url=read_api, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as api:
        by_id = await api.get("/v1/users/1001")
        assert by_id.status_code == 200
        assert by_id.json()["username"] == "Reader"
        assert by_id.json()["key_id"] == user_doc(db, 1001)["key_id"]
        by_name = await api.get("/v1/users", params={"username": "@reader"})
        assert [u["telegram_id"] for u in by_name.json()["users"]] == [1001]
        assert 1001 in (await api.get("/v1/users/ids")).json()["telegram_ids"]
        assert (await api.get("/v1/users/424242")).status_code == 404
        assert (await api.get("/v1/users/1001/referrals")).json() == {"invited": 0, "bonus_days": 0}
        traffic = (await api.get("/v1/users/1001/traffic")).json()
        assert traffic == {
            "telegram_id": 1001,
            "month": f"{datetime.now(UTC):%Y-%m}",
            "uplink_bytes": 0,
            "downlink_bytes": 0,
        }
        assert (await api.get("/v1/users/0/traffic")).status_code == 422
        stats = (await api.get("/v1/stats")).json()
        assert stats["users"] >= 1
        assert set(stats) == {"users", "active", "trials", "paid", "revenue", "trial_to_paid"}
        assert (await api.get("/v1/users/abc")).status_code == 422


async def test_read_api_answers_the_traffic_counted_this_month(
    read_api: str, worker: Program, publisher: EventPublisher, db: Database[Document]
) -> None:
    now = datetime.now(UTC)
    for node, up, down in [("127.0.0.1:18081", 10, 1000), ("127.0.0.1:18082", 5, 500)]:
        counted = TrafficCounted(
            telegram_id=1002,
            key_id=uuid.UUID(int=1002),
            country="finland",
            node=node,
            window_start=now,
            uplink_bytes=up,
            downlink_bytes=down,
        )
        await publisher.publish(Envelope.new(counted, producer="tests", occurred_at=now))

    def folded() -> bool:
        found = db["traffic"].find_one({"_id": user_document_id(1002)}) or {}
        return bool(sum(m["downlink"] for m in found.get("months", [])) == 1500)

    await eventually(folded, worker)
    async with httpx.AsyncClient(
        base_url=read_api, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as api:
        answer = (await api.get("/v1/users/1002/traffic")).json()
    assert answer == {
        "telegram_id": 1002,
        "month": f"{now:%Y-%m}",
        "uplink_bytes": 15,
        "downlink_bytes": 1500,
    }


async def test_read_api_pages_through_every_registered_id_once(
    read_api: str, db: Database[Document]
) -> None:
    """Pages follow the text order of ``user:<id>``; ``after`` maps back to the same place."""
    seeded = [3, 30, 300, 3_000_000_000]
    db.users.insert_many([stored_user(t, registered=True) for t in seeded])
    db.users.insert_one(stored_user(31, registered=False))
    pages: list[list[int]] = []
    async with httpx.AsyncClient(
        base_url=read_api, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as api:
        after: int | None = 0
        while after is not None:
            page = (await api.get("/v1/users/ids", params={"after": after, "limit": 2})).json()
            pages.append(page["telegram_ids"])
            after = page["next_after"]
    ids = [telegram_id for page in pages for telegram_id in page]
    assert all(len(page) == 2 for page in pages[:-1])
    assert len(ids) == len(set(ids))
    assert set(seeded) <= set(ids)
    assert 31 not in ids
    assert ids == sorted(ids, key=str)


def test_read_api_refuses_without_the_token(read_api: str) -> None:
    assert httpx.get(f"{read_api}/v1/users/1001").status_code == 401
    assert (
        httpx.get(
            f"{read_api}/v1/users/1001", headers={"Authorization": "Bearer wrong"}
        ).status_code
        == 401
    )
    assert httpx.get(f"{read_api}/health").status_code == 200
