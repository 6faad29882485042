"""Notices reach users once and on time, through real aiogram, Kafka, database, emulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from pymongo.database import Database

from emulators.serving import BackgroundServer
from events import Envelope, Event, external_event_id
from events.admin_commands import SubscriptionAdjusted, TestNotificationRequested
from events.bot_actions import RegionChosen, UserSeen, UserStarted
from events.keys import NodeRecovered, NodeUnreachable
from events.payments import PaymentCanceled, PaymentSucceeded, RenewalDeclined
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document, user_document_id
from keyland.settings import KafkaSettings
from keyland_tools.ops.state_hash import (
    BROADCAST_DELIVERIES,
    BROADCASTS,
    NOTICE_OUTCOMES,
    NOTICES,
    canonical_lines,
)
from services.notifier.bootstrap import INPUT_TOPICS as NOTIFIER_TOPICS
from tests.consumer_groups import behind, rewind
from tests.notifier_harness import BOT, notifier, telegram
from tests.processes import Program, free_port, wait_http
from tests.scraping import counted, log_lines
from tests.telegram_chat import TelegramUser, callback_data
from tests.waiting import eventually

REMINDER_BEFORE_S = 4
ADMIN = 3299
COUNTRIES = {"finland": ["127.0.0.1:18081"], "germany": ["127.0.0.1:18082"]}


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundServer]:
    with telegram() as server:
        yield server


@pytest.fixture(scope="module")
def ops_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def metrics_url(ops_port: int) -> str:
    return f"http://127.0.0.1:{ops_port}/metrics"


@pytest.fixture(scope="module")
def workers(
    service_env: dict[str, str],
    created_topics: TopicNames,
    emulator: BackgroundServer,
    ops_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Program, Program]]:
    logs = tmp_path_factory.mktemp("notifier")
    subscription = Program(
        "services.subscription", service_env, logs / "subscription.log", args=["worker"]
    ).start()
    reminder_days = str(REMINDER_BEFORE_S / 86400)
    countries = logs / "countries.json"
    countries.write_text(json.dumps(COUNTRIES))
    sender = notifier(
        service_env,
        emulator,
        logs,
        reminder_days=f"[{reminder_days}]",
        claim_lease_s="3",
        ops_port=str(ops_port),
        alert_ids=f"[{ADMIN}]",
        countries_file=str(countries),
    ).start()
    wait_http(f"http://127.0.0.1:{ops_port}/health", sender, timeout_s=90)
    yield subscription, sender
    sender.stop()
    subscription.stop()


@pytest.fixture
async def chats(emulator: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=90) as client:
        yield client


def paid(telegram_id: int, at: datetime, days: int) -> Envelope[Event]:
    event = PaymentSucceeded(
        telegram_id=telegram_id, payment_id=f"p-{telegram_id}-{at.timestamp()}", plan="day", months=0, days=days,
        amount=Decimal("10.00"), currency="RUB", paid_at=at,
    )  # fmt: skip
    return Envelope.new(
        event,
        producer="tests",
        occurred_at=at,
        event_id=external_event_id("yookassa", event.payment_id, event.event_type),
    )


async def user_who_wrote(
    chats: httpx.AsyncClient, publisher: EventPublisher, telegram_id: int
) -> TelegramUser:
    user = TelegramUser(chats, BOT, telegram_id, username=f"u{telegram_id}", language_code="en")
    await user.send("/start")
    await publisher.publish(
        Envelope.new(
            UserStarted(telegram_id=telegram_id, language_code="en"),
            producer="tests",
            occurred_at=datetime.now(UTC) - timedelta(days=2),
        )
    )
    return user


def texts(messages: list[dict[str, object]]) -> list[str]:
    return [str(m.get("text")) for m in messages]


async def test_test_notification_arrives_after_the_asked_delay(
    workers: tuple[Program, Program], publisher: EventPublisher, chats: httpx.AsyncClient
) -> None:
    user = await user_who_wrote(chats, publisher, 3001)
    asked = datetime.now(UTC)
    request = TestNotificationRequested(telegram_id=3001, admin_id=1, delay_seconds=3, text="ping")
    await publisher.publish(Envelope.new(request, producer="tests", occurred_at=asked))
    [message] = await user.bot_messages(min_count=1, timeout_s=30)
    assert "ping" in str(message["text"])
    assert int(str(message["date"])) >= int((asked + timedelta(seconds=3)).timestamp())


async def test_renewed_user_gets_no_reminder_or_expiry_notice(
    workers: tuple[Program, Program],
    publisher: EventPublisher,
    chats: httpx.AsyncClient,
    db: Database[Document],
) -> None:
    user = await user_who_wrote(chats, publisher, 3002)
    now = datetime.now(UTC)
    await publisher.publish(
        paid(3002, now - timedelta(days=1) + timedelta(seconds=8), days=1)
    )  # ends in 8 s
    await publisher.publish(paid(3002, now, days=30))  # renewed before the reminder is due
    await asyncio.sleep(12)
    sent = texts(await user.bot_messages(min_count=2, timeout_s=30))
    assert len(sent) == 2
    assert "Payment received" in sent[0]
    assert "extended" in sent[1]
    old_period = {
        n["_id"]: n["kind"]
        for n in db.notices.find({"telegram_id": 3002, "kind": {"$in": ["reminder", "expired"]}})
    }
    skipped = {
        o["_id"]
        for o in db.notice_outcomes.find({"_id": {"$in": list(old_period)}, "status": "skipped"})
    }
    assert {old_period[i] for i in skipped} == {"reminder", "expired"}


async def test_reminder_and_expiry_are_sent_once_across_a_notifier_crash(
    workers: tuple[Program, Program],
    publisher: EventPublisher,
    chats: httpx.AsyncClient,
    db: Database[Document],
) -> None:
    _, sender = workers
    user = await user_who_wrote(chats, publisher, 3003)
    await publisher.publish(
        paid(3003, datetime.now(UTC) - timedelta(days=1) + timedelta(seconds=10), days=1)
    )
    await user.bot_messages(min_count=2, timeout_s=30)  # the payment notice and the reminder
    sender.kill()
    sender.start()
    [expiry] = [n["_id"] for n in db.notices.find({"telegram_id": 3003, "kind": "expired"})]
    await eventually(
        lambda: (db.notice_outcomes.find_one({"_id": expiry}) or {}).get("status") == "sent",
        sender,
    )
    await asyncio.sleep(3)  # the restarted notifier has run its rounds meanwhile
    sent = texts(await user.bot_messages(min_count=3, timeout_s=30))
    assert len(sent) == 3
    assert ["ends in" in t for t in sent].count(True) == 1
    assert ["ended" in t for t in sent].count(True) == 1


async def test_admin_cut_into_the_reminder_window_reminds_at_once(
    workers: tuple[Program, Program], publisher: EventPublisher, chats: httpx.AsyncClient
) -> None:
    user = await user_who_wrote(chats, publisher, 3004)
    cut_at = datetime.now(UTC)
    # Paid so that access ends a day and 3 s from now: its reminder is a day away.
    await publisher.publish(paid(3004, cut_at - timedelta(days=1) + timedelta(seconds=3), days=2))
    await user.bot_messages(min_count=1, timeout_s=30)
    cut = SubscriptionAdjusted(telegram_id=3004, days=-1, admin_id=1)  # ends 3 s from now
    await publisher.publish(Envelope.new(cut, producer="tests", occurred_at=cut_at))
    sent = texts(await user.bot_messages(min_count=3, timeout_s=30))
    assert "ends in" in sent[1]
    assert "ended" in sent[2]


def outcome(db: Database[Document], notice_id: str) -> Document:
    return db.notice_outcomes.find_one({"_id": notice_id}) or {}


def planned(db: Database[Document], telegram_id: int, kind: str) -> list[str]:
    return [n["_id"] for n in db.notices.find({"telegram_id": telegram_id, "kind": kind})]


async def talks_to_the_bot(
    user: TelegramUser, publisher: EventPublisher, event: UserStarted | UserSeen
) -> None:
    """The user writes to the bot; ``event`` is what the bot publishes for it."""
    await user.send("/start" if isinstance(event, UserStarted) else "/menu")
    await publisher.publish(Envelope.new(event, producer="tests", occurred_at=datetime.now(UTC)))


async def admin_test_notice(publisher: EventPublisher, telegram_id: int, words: str) -> str:
    """An admin's test notice to ``telegram_id``, due now; its notice id."""
    request = TestNotificationRequested(
        telegram_id=telegram_id, admin_id=1, delay_seconds=0, text=words
    )
    envelope = Envelope.new(request, producer="tests", occurred_at=datetime.now(UTC))
    await publisher.publish(envelope)
    return f"{envelope.event_id}:test"


async def test_a_declined_renewal_is_told_once_with_a_pay_button_and_its_retries_are_silent(
    workers: tuple[Program, Program],
    publisher: EventPublisher,
    chats: httpx.AsyncClient,
    db: Database[Document],
) -> None:
    user = await user_who_wrote(chats, publisher, 3101)
    end, now = datetime.now(UTC) + timedelta(days=1), datetime.now(UTC)
    for attempt in range(3):
        declined = RenewalDeclined(
            telegram_id=3101, payment_id=f"r-3101-{attempt}", period_end=end, attempt=attempt
        )
        envelope = Envelope.new(
            declined,
            producer="tests",
            occurred_at=now + timedelta(seconds=attempt),
            event_id=external_event_id("yookassa", declined.payment_id, declined.event_type),
        )
        await publisher.publish(envelope)
        await publisher.publish(envelope)  # and delivered twice
    # After them on the user's partition: once it is told, the declines were all read.
    canceled = PaymentCanceled(telegram_id=3101, payment_id="after-the-declines")
    await publisher.publish(Envelope.new(canceled, producer="tests", occurred_at=now))

    told = await user.bot_messages(min_count=2, timeout_s=60)
    assert len(planned(db, 3101, "renewal_declined")) == 1
    [decline] = [m for m in told if "could not renew" in str(m.get("text"))]
    assert callback_data(decline) == ["menu:buy"]
    assert len(told) == 2


async def test_a_payment_notice_telegram_could_not_deliver_is_logged_counted_and_sent_once_on_the_next_visit(
    workers: tuple[Program, Program],
    publisher: EventPublisher,
    chats: httpx.AsyncClient,
    db: Database[Document],
    metrics_url: str,
) -> None:
    _, sender = workers
    failures = {"kind": "first_payment", "reason": "chat_not_found"}
    failed_before = counted(metrics_url, "keyland_notice_send_failures", **failures)
    # Known to us, but never wrote to this bot: Telegram answers "chat not found".
    started = UserStarted(telegram_id=3005, language_code="en")
    await publisher.publish(Envelope.new(started, producer="tests", occurred_at=datetime.now(UTC)))
    await publisher.publish(paid(3005, datetime.now(UTC), days=30))
    await eventually(lambda: len(planned(db, 3005, "first_payment")) == 1, sender)
    [notice_id] = planned(db, 3005, "first_payment")
    await eventually(lambda: outcome(db, notice_id).get("status") == "waiting", sender)
    assert outcome(db, notice_id)["failure"] == "chat_not_found"
    warned = [line for line in log_lines(sender) if line.get("notice_id") == notice_id]
    assert warned, "the failure is logged with the notice id"
    assert {(line["level"], line["telegram_id"], line["reason"]) for line in warned} == {
        ("WARNING", 3005, "chat_not_found")
    }
    assert counted(metrics_url, "keyland_notice_send_failures", **failures) > failed_before

    user = TelegramUser(chats, BOT, 3005, username="u3005", language_code="en")
    await talks_to_the_bot(user, publisher, UserStarted(telegram_id=3005, language_code="en"))
    [message] = await user.bot_messages(min_count=1, timeout_s=30)
    assert "Payment received" in str(message["text"])
    await eventually(lambda: db.pending_notices.find_one({"telegram_id": 3005}) is None, sender)

    seen_before = counted(metrics_url, "keyland_events_processed", type="UserSeen")
    await talks_to_the_bot(user, publisher, UserSeen(telegram_id=3005))
    await eventually(
        lambda: counted(metrics_url, "keyland_events_processed", type="UserSeen") > seen_before,
        sender,
    )
    assert len(await user.bot_messages()) == 1, "a second visit sends nothing again"


async def test_a_user_who_blocked_the_bot_is_skipped_until_they_talk_to_it_again(
    workers: tuple[Program, Program],
    publisher: EventPublisher,
    chats: httpx.AsyncClient,
    db: Database[Document],
    metrics_url: str,
) -> None:
    _, sender = workers
    user = await user_who_wrote(chats, publisher, 3006)
    (await chats.post(f"/emulator/bots/{BOT}/users/3006/block")).raise_for_status()
    blocked = {"kind": "test", "reason": "blocked"}
    refused_before = counted(metrics_url, "keyland_notice_send_failures", **blocked)

    def recorded_blocked() -> object:
        return (db.recipients.find_one({"_id": user_document_id(3006)}) or {}).get("blocked")

    first = await admin_test_notice(publisher, 3006, "first")
    await eventually(lambda: recorded_blocked() is True, sender)
    second = await admin_test_notice(publisher, 3006, "second")
    await eventually(lambda: outcome(db, second).get("status") == "skipped", sender)
    assert outcome(db, second)["reason"] == "the user blocked the bot"
    assert (outcome(db, first)["status"], outcome(db, first)["failure"]) == ("failed", "blocked")
    assert counted(metrics_url, "keyland_notice_send_failures", **blocked) == refused_before + 1

    (await chats.post(f"/emulator/bots/{BOT}/users/3006/unblock")).raise_for_status()
    await talks_to_the_bot(user, publisher, UserSeen(telegram_id=3006))
    await eventually(
        lambda: (
            (db.recipients.find_one({"_id": user_document_id(3006)}) or {}).get("blocked") is False
        ),
        sender,
    )
    await admin_test_notice(publisher, 3006, "third")
    [message] = texts(await user.bot_messages(min_count=1, timeout_s=30))
    assert "third" in message


async def in_region(
    chats: httpx.AsyncClient,
    publisher: EventPublisher,
    db: Database[Document],
    telegram_id: int,
    region: str,
    *,
    paying: bool = True,
) -> TelegramUser:
    """A user who chose ``region`` (and paid, ``paying``), once the notifier knows it."""
    user = await user_who_wrote(chats, publisher, telegram_id)
    chosen = RegionChosen(telegram_id=telegram_id, region=region)
    await publisher.publish(Envelope.new(chosen, producer="tests", occurred_at=datetime.now(UTC)))
    if paying:
        await publisher.publish(paid(telegram_id, datetime.now(UTC), days=30))

    def known() -> bool:
        profile = db.profiles.find_one({"_id": user_document_id(telegram_id)}) or {}
        return profile.get("region") == region and (profile.get("until") is not None) == paying

    await eventually(known, timeout_s=30)
    return user


def node_news(event: NodeUnreachable | NodeRecovered) -> Envelope[Event]:
    """The provisioner's announcement, under its one id per outage."""
    key = f"{event.node}@{event.since.isoformat()}"
    return Envelope.new(
        event,
        producer="tests",
        occurred_at=datetime.now(UTC),
        event_id=external_event_id("provisioner", key, event.event_type),
    )


async def test_a_node_down_and_back_is_told_once_each_way_to_its_regions_users_and_admins(
    workers: tuple[Program, Program],
    publisher: EventPublisher,
    chats: httpx.AsyncClient,
    db: Database[Document],
) -> None:
    affected = await in_region(chats, publisher, db, 3201, "germany")
    await in_region(chats, publisher, db, 3202, "finland")
    await in_region(chats, publisher, db, 3203, "germany", paying=False)
    admin = TelegramUser(chats, BOT, ADMIN, username="admin", language_code="en")
    await admin.send("/start")
    before = len(await affected.bot_messages(min_count=1, timeout_s=30))  # the payment's

    since = datetime.now(UTC) - timedelta(minutes=2)
    node = COUNTRIES["germany"][0]
    down = node_news(NodeUnreachable(country="germany", node=node, error="refused", since=since))
    await publisher.publish(down)
    await publisher.publish(down)  # and delivered twice
    told = await affected.bot_messages(min_count=before + 1, timeout_s=30)
    [notice] = [m for m in told if "server is not answering" in str(m.get("text"))]
    assert callback_data(notice) == ["region:finland"]  # the healthy regions
    [alert] = [m for m in await admin.bot_messages(min_count=1) if node in str(m.get("text"))]
    assert str(alert["text"]).endswith(": 1.")  # users told (the admin never set a language)

    late = await in_region(chats, publisher, db, 3204, "germany")  # chose it meanwhile
    back = NodeRecovered(country="germany", node=node, since=since, back_at=datetime.now(UTC))
    await publisher.publish(node_news(back))
    await publisher.publish(node_news(back))
    told = await affected.bot_messages(min_count=before + 2, timeout_s=30)
    [again] = [m for m in told if "works again" in str(m.get("text"))]
    assert callback_data(again) == ["region:germany"]
    await admin.bot_messages(min_count=2, timeout_s=30)
    await asyncio.sleep(2)  # a second sending of either would have gone out by now
    assert len(await affected.bot_messages()) == before + 2
    assert len(await admin.bot_messages()) == 2
    for other in (3202, 3203, 3204):
        assert planned(db, other, "node_down") == planned(db, other, "node_back") == []
    assert not [m for m in await late.bot_messages() if "server" in str(m.get("text"))]


def notifier_record(db: Database[Document]) -> dict[str, list[str]]:
    """What the state hash covers of the notifier: notices, outcomes, broadcasts."""
    lines = canonical_lines(db)
    return {
        name: lines[name] for name in (NOTICES, NOTICE_OUTCOMES, BROADCASTS, BROADCAST_DELIVERIES)
    }


CHECKED = (*range(3001, 3008), 3201, 3202, 3203, 3204, ADMIN)


async def test_a_replay_of_every_topic_leaves_the_notifiers_record_and_sends_nothing(
    workers: tuple[Program, Program],
    publisher: EventPublisher,
    chats: httpx.AsyncClient,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    created_topics: TopicNames,
) -> None:
    _, sender = workers
    user = await user_who_wrote(chats, publisher, 3007)
    await publisher.publish(paid(3007, datetime.now(UTC), days=30))
    await user.bot_messages(min_count=1, timeout_s=30)
    await asyncio.sleep(3)  # earlier tests' notices settle
    before = notifier_record(db)
    assert before[NOTICES]
    assert before[NOTICE_OUTCOMES]
    chats_before = {t: len(await TelegramUser(chats, BOT, t).bot_messages()) for t in CHECKED}

    sender.stop()
    group = {sender.env["KEYLAND_NOTIFIER_APP_ID"]: NOTIFIER_TOPICS}
    await rewind(kafka_settings, created_topics, group)
    assert await behind(kafka_settings.bootstrap, created_topics, group) > 0
    sender.start()
    deadline = time.monotonic() + 90
    while await behind(kafka_settings.bootstrap, created_topics, group) > 0:
        assert sender.process is not None
        assert sender.process.poll() is None, sender.log()[-3000:]
        assert time.monotonic() < deadline, "the notifier never caught up"
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # its scheduler has run its rounds over the re-read history

    assert notifier_record(db) == before
    chats_after = {t: len(await TelegramUser(chats, BOT, t).bot_messages()) for t in CHECKED}
    assert chats_after == chats_before
