"""The notifier's due window and its consumer use equality lookups on ``_id`` or indexed
keys only, write a batch's notices in one insert, and a restart reads again from a
durable cursor what may not be settled, and nothing settled twice (real database and
Telegram emulator)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from emulators.serving import BackgroundServer
from events import Envelope, Event
from events.admin_commands import BroadcastRequested, TestNotificationRequested
from events.bot_actions import RegionChosen, UserSeen, UserStarted
from events.keys import NodeRecovered, NodeUnreachable
from events.subscriptions import (
    ExtensionReason,
    SubscriptionExtended,
    TrialActivated,
    UserRegistered,
)
from keyland.indexes import ensure_indexes
from keyland.mongo import Document
from keyland.settings import MongoSettings
from keyland.telegram.client import make_bot
from services.notifier.adapters.broadcasts import Broadcasts
from services.notifier.adapters.claims import Claims
from services.notifier.adapters.notices import SENT, Notices
from services.notifier.adapters.outages import Outages
from services.notifier.adapters.pending import PendingNotices
from services.notifier.adapters.telegram import TelegramSender
from services.notifier.adapters.users import Users
from services.notifier.domain.notices import Kind, Notice
from services.notifier.handlers.delivery import NoticeSender
from services.notifier.handlers.incoming import NotifierHandler
from services.notifier.handlers.redelivery import Redelivery
from services.notifier.handlers.scheduler import Scheduler
from tests.notifier_harness import BOT, BOT_TOKEN, telegram
from tests.telegram_chat import TelegramUser

LEASE = timedelta(seconds=3)


class Commands(monitoring.CommandListener):
    """Each command sent: its name, collection and filters (or inserted documents)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, list[dict[str, Any]]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name, command = event.command_name, event.command
        parts = {
            "find": [command.get("filter", {})],
            "update": [u["q"] for u in command.get("updates", [])],
            "delete": [d["q"] for d in command.get("deletes", [])],
            "insert": list(command.get("documents", [])),
            "count": [command.get("query", {})],
            "aggregate": [command.get("pipeline", [{}])[0]],
        }
        if name in parts:
            self.seen.append((name, command[name], [dict(p) for p in parts[name]]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def filters(self) -> list[tuple[str, dict[str, Any]]]:
        return [(c, f) for name, c, fs in self.seen if name != "insert" for f in fs]


@dataclass
class Notifier:
    handler: NotifierHandler
    notices: Notices
    lookups: dict[str, tuple[str, ...]]  # collection -> fields an equality may use
    handle: AsyncDatabase[Document]
    sender: NoticeSender
    broadcasts: Broadcasts

    def scheduler(self) -> Scheduler:
        """A scheduler as a fresh notifier process starts with (nothing in memory)."""
        h = self.handle
        return Scheduler(
            self.notices,
            Claims(h["claims"], "tests"),
            Users(h["profiles"], h["recipients"]),
            self.sender,
            LEASE,
            pending=PendingNotices(h["pending_notices"]),
        )


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundServer]:
    with telegram() as server:
        yield server


@pytest.fixture
def commands() -> Commands:
    return Commands()


@pytest.fixture
async def notifier(
    mongo_settings: MongoSettings,
    emulator: BackgroundServer,
    commands: Commands,
    db: Database[Document],
) -> AsyncIterator[Notifier]:
    for name in (
        "notices",
        "notice_outcomes",
        "notice_schedule",
        "claims",
        "broadcasts",
        "profiles",
        "node_outages",
    ):
        db[name].delete_many({})
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongo_settings.url, tz_aware=True, event_listeners=[commands]
    )
    h = client[mongo_settings.database]
    notices = Notices(h["notices"], h["notice_outcomes"], h["notice_schedule"])
    users, claims = Users(h["profiles"], h["recipients"]), Claims(h["claims"], "tests")
    pending = PendingNotices(h["pending_notices"])
    broadcasts = Broadcasts(h["broadcasts"], h["broadcast_deliveries"])
    outages = Outages(h["node_outages"])
    owned = [
        *notices.owned(),
        *users.owned(),
        *claims.owned(),
        *pending.owned(),
        *broadcasts.owned(),
        *outages.owned(),
    ]
    await ensure_indexes(owned, mongo_settings.postgres_url)
    bot = make_bot(BOT_TOKEN, emulator.url)
    sender = NoticeSender(TelegramSender(bot), users)
    redelivery = Redelivery(pending, claims, users, notices, sender, claim_lease=LEASE)
    handler = NotifierHandler(
        notices, users, broadcasts, [], [], redelivery=redelivery, outages=outages
    )
    lookups = {d.collection.name: d.lookup_fields() for d in owned}
    commands.seen.clear()
    yield Notifier(handler, notices, lookups, h, sender, broadcasts)
    await bot.session.close()
    await client.close()


@pytest.fixture
async def chats(emulator: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=30) as client:
        yield client


async def wrote_to_the_bot(chats: httpx.AsyncClient, telegram_id: int) -> TelegramUser:
    user = TelegramUser(chats, BOT, telegram_id, username=f"u{telegram_id}", language_code="en")
    await user.send("/start")
    return user


def keyed_by_equality(filter_: dict[str, Any], lookups: tuple[str, ...]) -> bool:
    """An equality on ``_id`` or an indexed field narrows it; other conditions only
    refine what that found (no top-level ``$or`` and the like)."""
    plain = not any(key.startswith("$") for key in filter_)
    return plain and any(
        key in lookups and not isinstance(value, dict) for key, value in filter_.items()
    )


def admin_test(telegram_id: int, delay_s: int, at: datetime) -> Envelope[Event]:
    asked = TestNotificationRequested(
        telegram_id=telegram_id, admin_id=1, delay_seconds=delay_s, text=f"hi {telegram_id}"
    )
    return Envelope.new(asked, producer="tests", occurred_at=at)


async def test_a_batch_is_planned_in_one_insert_and_sent_with_equality_lookups_only(
    notifier: Notifier, commands: Commands, chats: httpx.AsyncClient, db: Database[Document]
) -> None:
    first, second = await wrote_to_the_bot(chats, 4101), await wrote_to_the_bot(chats, 4102)
    now = datetime.now(UTC)
    batch = [
        admin_test(4101, 0, now),
        Envelope.new(UserSeen(telegram_id=4101), producer="tests", occurred_at=now),
        admin_test(4102, 0, now),
        admin_test(4102, 86_400, now),  # tomorrow: not loaded today
    ]
    await notifier.handler.handle_batch(batch)
    await notifier.handler.handle_batch(batch)  # redelivered: nothing new
    scheduler = notifier.scheduler()
    await scheduler.refresh(now)
    assert await scheduler.run_once(now + timedelta(seconds=1)) == 2

    assert len(await first.bot_messages(min_count=1)) == 1
    assert len(await second.bot_messages(min_count=1)) == 1
    assert db.notices.count_documents({}) == 3
    inserts = [docs for name, c, docs in commands.seen if (name, c) == ("insert", "notices")]
    assert [len(docs) for docs in inserts] == [3, 3], "one insert per batch"
    filters = commands.filters()
    assert any(c == "notices" for c, _ in filters), "the due window was not read"
    assert all(keyed_by_equality(f, notifier.lookups[c]) for c, f in filters), filters


async def test_a_trials_two_events_in_one_batch_insert_each_notice_once(
    notifier: Notifier, commands: Commands, db: Database[Document]
) -> None:
    """``TrialActivated`` and its ``SubscriptionExtended`` plan the same expiry notice:
    it goes into the batch's one insert once (FerretDB would insert every document again
    one by one on the duplicate)."""
    now, key = datetime.now(UTC), uuid.uuid4()
    until = now + timedelta(days=3)
    trial = TrialActivated(telegram_id=4151, key_id=key, until=until, revision=1)
    extended = SubscriptionExtended(
        telegram_id=4151,
        key_id=key,
        previous_until=None,
        until=until,
        revision=1,
        reason=ExtensionReason.TRIAL,
    )
    batch = [Envelope.new(e, producer="tests", occurred_at=now) for e in (trial, extended)]
    await notifier.handler.handle_batch(batch)

    inserts = [docs for name, c, docs in commands.seen if (name, c) == ("insert", "notices")]
    assert [sorted(d["_id"] for d in docs) for docs in inserts] == [
        sorted(d["_id"] for d in db.notices.find({"telegram_id": 4151}))
    ]
    assert sorted(d["kind"] for d in db.notices.find({"telegram_id": 4151})) == [
        str(Kind.EXPIRED),
        str(Kind.TRIAL),
    ]


@pytest.mark.parametrize(
    ("now", "first_user"),
    [
        pytest.param(datetime(2026, 12, 7, 13, 30, 15, tzinfo=UTC), 4201, id="mid-hour"),
        # The lookahead reaches into the next hour: the sweep reads this hour whole.
        pytest.param(
            datetime(2026, 12, 7, 13, 58, 59, 577917, tzinfo=UTC), 4211, id="end-of-the-hour"
        ),
    ],
)
async def test_a_restart_reads_from_the_cursor_what_may_be_unsettled_and_sends_it_once(
    notifier: Notifier,
    commands: Commands,
    chats: httpx.AsyncClient,
    db: Database[Document],
    now: datetime,
    first_user: int,
) -> None:
    late_user, soon_user = first_user, first_user + 1
    late, soon = await wrote_to_the_bot(chats, late_user), await wrote_to_the_bot(chats, soon_user)
    await notifier.notices.plan(
        [
            # Planned only now, though due two hours ago (the consumer was behind).
            (Notice("late", late_user, Kind.TEST, now - timedelta(hours=2), values={"text": "a"}), now),
            (Notice("soon", soon_user, Kind.TEST, now + timedelta(seconds=20), values={"text": "b"}), now),
        ],
        filed_at=now,
    )  # fmt: skip
    before_crash = notifier.scheduler()
    await before_crash.refresh(now)  # a first start: a week back, hours then minutes
    assert await before_crash.run_once(now) == 1  # "late"; then the process dies

    commands.seen.clear()
    restarted = notifier.scheduler()
    await restarted.refresh(now + timedelta(seconds=30))
    assert await restarted.run_once(now + timedelta(seconds=30)) == 1  # "soon" only
    reads = [f for c, f in commands.filters() if c == "notices"]
    assert 0 < len(reads) <= 4, f"read from the cursor, not a week back: {reads}"

    assert len(await late.bot_messages(min_count=1)) == 1
    assert len(await soon.bot_messages(min_count=1)) == 1
    statuses = {o["_id"]: o["status"] for o in db.notice_outcomes.find()}
    assert statuses == {"late": SENT, "soon": SENT}
    cursor = db.notice_schedule.find_one({"_id": "cursor"})
    assert cursor is not None
    assert cursor["at"] >= now - timedelta(minutes=2)


async def test_the_broadcast_loop_finds_unfinished_broadcasts_by_equality(
    notifier: Notifier, commands: Commands
) -> None:
    request = BroadcastRequested(broadcast_id=uuid.uuid4(), admin_id=1, text="news")
    envelope = Envelope.new(request, producer="tests", occurred_at=datetime.now(UTC))
    await notifier.handler.handle_batch([envelope, envelope])  # redelivered: one broadcast
    [unfinished] = await notifier.broadcasts.unfinished()
    assert unfinished["_id"] == str(request.broadcast_id)
    filters = [(c, f) for c, f in commands.filters() if c == "broadcasts"]
    assert filters, "nothing was read"
    assert all(keyed_by_equality(f, notifier.lookups[c]) for c, f in filters), filters


async def test_profiles_learn_a_batch_with_one_read_and_at_most_one_write_per_user(
    notifier: Notifier, commands: Commands, chats: httpx.AsyncClient, db: Database[Document]
) -> None:
    user = await wrote_to_the_bot(chats, 4301)
    now = datetime.now(UTC)
    until = (now + timedelta(days=30)).replace(microsecond=0)

    def event(payload: Event, at: datetime = now) -> Envelope[Event]:
        return Envelope.new(payload, producer="tests", occurred_at=at)

    extended = SubscriptionExtended(
        telegram_id=4301,
        key_id=uuid.uuid4(),
        previous_until=None,
        until=until,
        revision=1,
        reason=ExtensionReason.ADMIN,
    )
    batch = [
        event(UserStarted(telegram_id=4301, language_code="ru")),
        event(extended),
        event(UserStarted(telegram_id=4302, language_code="en")),
    ]
    await notifier.handler.handle_batch(batch)
    await notifier.handler.handle_batch(batch)  # redelivered: learnt already, nothing written

    profiles = [(name, fs) for name, c, fs in commands.seen if c == "profiles"]
    assert sorted(name for name, _ in profiles) == ["find"] * 4 + ["update"] * 2
    assert not [c for _, c, _ in commands.seen if c == "users"], "read the subscription's users"
    filters = commands.filters()
    assert all(keyed_by_equality(f, notifier.lookups[c]) for c, f in filters), filters
    stored = db.profiles.find_one({"_id": "user:4301"}) or {}
    assert (stored["language_code"], stored["until"], stored["registered"]) == ("ru", until, False)

    scheduler = notifier.scheduler()
    await scheduler.refresh(now)
    assert await scheduler.run_once(now + timedelta(seconds=1)) == 1  # the admin's notice
    [told] = await user.bot_messages(min_count=1)
    assert "Администратор продлил" in str(told.get("text")), "written in the learnt language"


async def test_a_payment_made_before_a_node_went_down_but_learnt_after_joins_its_outage(
    notifier: Notifier, commands: Commands, db: Database[Document]
) -> None:
    """The notifier reads each partition at its own pace: a payment made before the
    announcement may reach it after. Its payer is told like those counted at once, under
    the same ids, once however often redelivered; one who paid after the announcement is
    not; the recovery goes to them all and closes the outage."""
    announced = datetime.now(UTC)
    since = announced - timedelta(seconds=10)
    node = "127.0.0.1:18082"
    known, late, after, too_late = 4401, 4402, 4403, 4404

    def event(payload: Event, at: datetime, event_id: uuid.UUID | None = None) -> Envelope[Event]:
        return Envelope.new(payload, producer="tests", occurred_at=at, event_id=event_id)

    def paid(telegram_id: int, at: datetime) -> Envelope[Event]:
        extended = SubscriptionExtended(
            telegram_id=telegram_id,
            key_id=uuid.uuid4(),
            previous_until=None,
            until=at + timedelta(days=30),
            revision=2,
            reason=ExtensionReason.PAYMENT,
        )
        return event(extended, at)

    joined_before = announced - timedelta(minutes=5)
    await notifier.handler.handle_batch(
        [
            e
            for user in (known, late, after, too_late)
            for e in (
                event(UserRegistered(telegram_id=user, key_id=uuid.uuid4()), joined_before),
                event(RegionChosen(telegram_id=user, region="germany"), joined_before),
            )
        ]
        + [paid(known, joined_before)]
    )
    down = NodeUnreachable(country="germany", node=node, error="refused", since=since)
    down_news = event(down, announced, uuid.uuid4())
    await notifier.handler.handle_batch([down_news])
    commands.seen.clear()
    behind = [
        paid(late, announced - timedelta(seconds=3)),
        paid(after, announced + timedelta(seconds=3)),
    ]
    await notifier.handler.handle_batch(behind)
    await notifier.handler.handle_batch(behind)  # redelivered: nobody told twice

    def planned(kind: Kind) -> list[str]:
        return sorted(d["_id"] for d in db.notices.find({"kind": str(kind)}))

    assert planned(Kind.NODE_DOWN) == [
        f"{down_news.event_id}:node_down:{known}",
        f"{down_news.event_id}:node_down:{late}",
    ]
    [outage] = list(db.node_outages.find())
    assert (outage["told"], outage["open"]) == ([known, late], True)
    filters = commands.filters()
    assert ("node_outages", {"open": True}) in filters
    assert all(keyed_by_equality(f, notifier.lookups[c]) for c, f in filters), filters

    back = NodeRecovered(country="germany", node=node, since=since, back_at=announced)
    back_news = event(back, announced + timedelta(minutes=1), uuid.uuid4())
    await notifier.handler.handle_batch([back_news, back_news])
    assert planned(Kind.NODE_BACK) == [
        f"{back_news.event_id}:node_back:{known}",
        f"{back_news.event_id}:node_back:{late}",
    ]
    assert db.node_outages.find_one({"open": True}) is None
    await notifier.handler.handle_batch([paid(too_late, announced - timedelta(seconds=1))])
    assert planned(Kind.NODE_DOWN) == [
        f"{down_news.event_id}:node_down:{known}",
        f"{down_news.event_id}:node_down:{late}",
    ], "an outage over takes nobody in"
