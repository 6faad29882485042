"""The Telegram bot, for real: aiogram polling the Telegram Bot API emulator, events on
Kafka, the subscription worker and read API over the module's database, the payments
ingest with the YooKassa emulator, and a stand-in for the provisioner's links API.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiogram import Dispatcher
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.pymongo import PyMongoStorage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import SecretStr
from pymongo import AsyncMongoClient
from pymongo.database import Database
from pymongo.errors import InvalidOperation, OperationFailure
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulators.serving import BackgroundServer
from emulators.telegram import BotAccount, EmulatorConfig
from emulators.telegram import build_app as telegram_app
from emulators.yookassa import DeliveryPolicy
from events import Envelope, Event
from events.admin_commands import (
    BroadcastRequested,
    SubscriptionAdjusted,
    TestNotificationRequested,
    UserBlockRequested,
)
from events.bot_actions import RegionChosen, TrialRequested, UserSeen, UserStarted
from events.buttons import MenuAction, RegionChoice
from events.registry import TopicNames
from events.traffic import TrafficCounted
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document, user_document_id
from keyland.settings import KafkaSettings, MongoSettings
from keyland.telegram.client import make_bot
from services.bot.adapters.fsm_storage import FsmStorage
from services.bot.config import BotSettings
from services.bot.domain.display import date
from services.bot.domain.images import qr_png
from services.bot.keyboards.callbacks import AdminMenu, AdminTool, BroadcastDecision
from services.bot.keyboards.menu import MAIN_MENU
from services.bot.locales import text
from tests.bot_harness import PollingBot, links_app
from tests.kafka_tail import read_topic
from tests.processes import ROOT, Program, free_port, wait_http
from tests.services import payments_ingest, yookassa_emulator
from tests.services import read_api as read_api_running
from tests.telegram_chat import TelegramUser, button_urls, callback_data, text_of
from tests.user_docs import user_doc
from tests.waiting import eventually

pytestmark = pytest.mark.integration

TOKEN, BOT_USERNAME = "710001:bot-polling-test", "keyland_test_bot"
WEBHOOK_TOKEN, WEBHOOK_USERNAME = "710002:bot-webhook-test", "keyland_hook_bot"
OUTAGE_TOKEN, OUTAGE_USERNAME = "710003:bot-outage-test", "keyland_outage_bot"
ASKING_TOKEN, ASKING_USERNAME = "710004:bot-asking-test", "keyland_asking_bot"
SHARED_TOKEN, SHARED_USERNAME = "710005:bot-shared-hook-test", "keyland_shared_hook_bot"
READ_TOKEN, PAYMENTS_TOKEN, LINKS_TOKEN = "read-test-token", "payments-test-token", "links-token"
SHOP, SHOP_SECRET = "100500", "test_secret_key"
ADMIN, CLUMSY_ADMIN, STRANGER = 500001, 500002, 600100
HORIZON_DAYS = 400  # not the default: the refusal must name the configured one
COUNTRIES = {"finland": ["127.0.0.1:1"], "germany": ["127.0.0.1:2"]}
LINKS: dict[int, dict[str, Any]] = {}


def says(key: str, **values: Any) -> str:
    """What the bot says in Russian (the test users' language)."""
    return text(key, "ru", **values)


# --- the world around the bot ------------------------------------------------------


@pytest.fixture(scope="module")
def telegram() -> Iterator[BackgroundServer]:
    server = BackgroundServer()
    bots = (
        BotAccount(TOKEN, BOT_USERNAME),
        BotAccount(WEBHOOK_TOKEN, WEBHOOK_USERNAME),
        BotAccount(OUTAGE_TOKEN, OUTAGE_USERNAME),
        BotAccount(ASKING_TOKEN, ASKING_USERNAME),
        BotAccount(SHARED_TOKEN, SHARED_USERNAME),
    )
    server.start(telegram_app(EmulatorConfig(bots=bots)))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def read_api(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with read_api_running(service_env, tmp_path_factory.mktemp("read-api"), READ_TOKEN) as url:
        yield url


@pytest.fixture(scope="module")
def ingest_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def yookassa(ingest_port: int) -> Iterator[BackgroundServer]:
    delivery = DeliveryPolicy(attempts=3, base_delay_s=0.2, timeout_s=10)
    with yookassa_emulator((SHOP, SHOP_SECRET), ingest_port, delivery) as server:
        yield server


@pytest.fixture(scope="module")
def ingest(
    service_env: dict[str, str],
    created_topics: TopicNames,
    yookassa: BackgroundServer,
    ingest_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    with payments_ingest(
        service_env,
        tmp_path_factory.mktemp("ingest"),
        port=ingest_port,
        token=PAYMENTS_TOKEN,
        shop=(SHOP, SHOP_SECRET),
        yookassa_url=yookassa.url,
    ) as running:
        yield running.url


@pytest.fixture(scope="module")
def links() -> Iterator[str]:
    server = BackgroundServer()
    server.start(links_app(LINKS_TOKEN, LINKS))
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def countries_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("countries") / "countries.json"
    path.write_text(json.dumps(COUNTRIES))
    return path


@pytest.fixture(scope="module")
def settings(
    telegram: BackgroundServer, read_api: str, ingest: str, links: str, countries_file: Path
) -> BotSettings:
    return BotSettings(
        token=SecretStr(TOKEN),
        telegram_api_url=telegram.url,
        admin_ids=[ADMIN, CLUMSY_ADMIN],
        read_api_url=read_api,
        read_api_token=SecretStr(READ_TOKEN),
        payments_url=ingest,
        payments_token=SecretStr(PAYMENTS_TOKEN),
        links_url=links,
        links_token=SecretStr(LINKS_TOKEN),
        support_contact="@keyland_help",
        countries_file=countries_file,
        http_timeout_s=10,
        max_horizon_days=HORIZON_DAYS,
    )


@pytest.fixture(scope="module")
async def bot(
    settings: BotSettings,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    created_topics: TopicNames,
) -> AsyncIterator[PollingBot]:
    running = PollingBot(settings, kafka_settings, mongo_settings)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(scope="module")
async def emulator(telegram: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=telegram.url, timeout=70) as client:
        yield client


Chat = Callable[..., Awaitable[TelegramUser]]


@pytest.fixture
def chat(emulator: httpx.AsyncClient, bot: PollingBot) -> Chat:
    """A user of the polling bot, past whatever the bot sent them in earlier tests."""

    async def person(telegram_id: int, first_name: str = "Test", **profile: Any) -> TelegramUser:
        someone = TelegramUser(emulator, BOT_USERNAME, telegram_id, first_name, **profile)
        await someone.catch_up()
        return someone

    return person


@pytest.fixture
async def notifier(telegram: BackgroundServer) -> AsyncIterator[Any]:
    """The notifier's side of the same bot: sends buttons the bot must handle."""
    sender = make_bot(TOKEN, telegram.url)
    yield sender
    await sender.session.close()


async def events_on(
    kafka: KafkaSettings,
    topics: TopicNames,
    topic: str,
    matching: Callable[[Event], bool],
    *,
    at_least: int = 0,
    timeout_s: float = 3,
) -> list[Event]:
    """Payloads on ``topic`` that match, read until there are ``at_least`` (or timeout)."""

    def chosen(found: list[Envelope[Event]]) -> list[Event]:
        return [e.payload for e in found if matching(e.payload)]

    found = await read_topic(
        kafka.bootstrap,
        topics(topic),
        until=lambda found: at_least > 0 and len(chosen(found)) >= at_least,
        timeout_s=timeout_s if at_least == 0 else 20,
    )
    return chosen(found)


async def register(publisher: EventPublisher, db: Database[Document], **started: Any) -> None:
    """A user the read model knows (as if they had sent /start)."""
    await publisher.publish(
        Envelope.new(UserStarted(**started), producer="tests", occurred_at=datetime.now(UTC))
    )
    await eventually(lambda: user_doc(db, started["telegram_id"]).get("registered") is True)


# --- users ---------------------------------------------------------------------------


async def test_start_with_a_referral_link_publishes_the_referrer_and_shows_the_menu(
    chat: Chat,
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    inviter = await chat(600001, "Инна", username="inviter")
    await inviter.ask("/start")
    # A link refers only someone registered by their own /start.
    await eventually(lambda: user_doc(db, 600001).get("registered") is True, worker)
    friend = await chat(600002, "Fred", username="fred_2", language_code="en")
    [menu] = await friend.ask("/start ref_600001")
    assert text_of(menu) == text("menu_greeting", "en", name="Fred")
    assert callback_data(menu) == [MenuAction(action=a).pack() for a in MAIN_MENU]

    started = await events_on(
        kafka_settings,
        topics,
        "bot.actions",
        lambda e: isinstance(e, UserStarted) and e.telegram_id == 600002,
        at_least=1,
    )
    assert started == [
        UserStarted(
            telegram_id=600002,
            username="fred_2",
            first_name="Fred",
            language_code="en",
            referrer_id=600001,
        )
    ]
    await eventually(lambda: user_doc(db, 600002).get("referrer_id") == 600001, worker)

    [window] = await inviter.ask("/referral")
    assert "https://t.me/keyland_test_bot?start=ref_600001" in text_of(window)
    assert says("referral_info", link="https://t.me/keyland_test_bot?start=ref_600001",
                invited=1, bonus_days=0) == text_of(window)  # fmt: skip


async def test_a_referral_link_naming_someone_who_never_started_records_nothing(
    chat: Chat,
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    inviter = await chat(600021, "Ida")
    await inviter.ask("/start")
    await eventually(lambda: user_doc(db, 600021).get("registered") is True, worker)
    friend = await chat(600022, "Gus")
    await friend.ask("/start ref_600023")  # 600023 never started the bot
    await eventually(lambda: user_doc(db, 600022).get("registered") is True, worker)
    assert user_doc(db, 600022)["referrer_id"] is None
    assert user_doc(db, 600023) == {}  # no document, no registration, no count
    # When that person arrives through someone else's link, that referrer is recorded.
    phantom = await chat(600023, "Phil")
    await phantom.ask("/start ref_600021")
    await eventually(lambda: user_doc(db, 600023).get("registered") is True, worker)
    assert user_doc(db, 600023)["referrer_id"] == 600021
    started = await events_on(
        kafka_settings,
        topics,
        "bot.actions",
        lambda e: isinstance(e, UserStarted) and e.telegram_id == 600022,
        at_least=1,
    )
    assert [e.referrer_id for e in started if isinstance(e, UserStarted)] == [None]


async def test_a_deep_link_to_oneself_or_garbage_names_no_referrer(
    chat: Chat, kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    itself = await chat(600003)
    await itself.ask("/start ref_600003")
    await itself.ask("/start ref_<script>")
    started = await events_on(
        kafka_settings,
        topics,
        "bot.actions",
        lambda e: isinstance(e, UserStarted) and e.telegram_id == 600003,
        at_least=2,
    )
    assert [e.referrer_id for e in started if isinstance(e, UserStarted)] == [None, None]


async def test_trial_is_requested_once_and_the_profile_then_shows_its_end(
    chat: Chat,
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    someone = await chat(600010)
    [menu] = await someone.ask("/start")
    await eventually(lambda: user_doc(db, 600010).get("registered") is True, worker)
    await someone.press(menu, MenuAction(action="trial").pack())
    assert text_of(await someone.reply()) == says("trial_requested")
    requested = await events_on(
        kafka_settings,
        topics,
        "bot.actions",
        lambda e: isinstance(e, TrialRequested) and e.telegram_id == 600010,
        at_least=1,
    )
    assert requested == [TrialRequested(telegram_id=600010)]
    await eventually(lambda: user_doc(db, 600010).get("until") is not None, worker)
    until = user_doc(db, 600010)["until"]

    await someone.press(menu, MenuAction(action="profile").pack())
    profile = text_of(await someone.reply())
    assert date(until) in profile
    assert profile.startswith(says("profile_active", until=date(until), days_left="3 дн."))

    await someone.press(menu, MenuAction(action="trial").pack())
    assert text_of(await someone.reply()) == says("trial_already_used")
    again = await events_on(
        kafka_settings,
        topics,
        "bot.actions",
        lambda e: isinstance(e, TrialRequested) and e.telegram_id == 600010,
    )
    assert len(again) == 1


async def test_the_traffic_counted_this_month_is_in_the_profile_and_the_admins_card(
    targets: None,
    chat: Chat,
    worker: Program,
    publisher: EventPublisher,
    db: Database[Document],
) -> None:
    someone = await chat(600011)
    [menu] = await someone.ask("/start")
    await eventually(lambda: user_doc(db, 600011).get("registered") is True, worker)
    await someone.press(menu, MenuAction(action="trial").pack())
    await someone.reply()
    await eventually(lambda: user_doc(db, 600011).get("until") is not None, worker)
    now = datetime.now(UTC)
    counted = TrafficCounted(
        telegram_id=600011,
        key_id=user_doc(db, 600011)["key_id"],
        country="finland",
        node="127.0.0.1:18081",
        window_start=now,
        uplink_bytes=512,
        downlink_bytes=3 * 1024**2,
    )
    await publisher.publish(Envelope.new(counted, producer="tests", occurred_at=now))
    await eventually(
        lambda: db["traffic"].find_one({"_id": user_document_id(600011)}) is not None, worker
    )

    await someone.press(menu, MenuAction(action="profile").pack())
    shown = {"up": "512 Б", "down": "3.0 МБ", "total": "3.0 МБ", "month": f"{now:%Y-%m}"}
    assert says("profile_traffic", **shown) in text_of(await someone.reply())

    admin = await chat(ADMIN, "Admin")
    await admin.ask("/find")
    [card, *_] = await admin.ask("tgid=600011")
    assert says("admin_user_traffic", **shown) in text_of(card)


async def test_buying_creates_one_payment_per_button_and_paying_extends_access(
    chat: Chat,
    yookassa: BackgroundServer,
    worker: Program,
    db: Database[Document],
) -> None:
    buyer = await chat(600020)
    [menu] = await buyer.ask("/start")
    await buyer.press(menu, MenuAction(action="buy").pack())
    plans = await buyer.reply()
    assert text_of(plans) == says("buy_choose")
    assert callback_data(plans)[:8] == [  # each plan's ruble price, then its Stars price
        "buy:month_1", "stars:month_1", "buy:month_3", "stars:month_3",
        "buy:month_6", "stars:month_6", "buy:month_12", "stars:month_12",
    ]  # fmt: skip

    await buyer.press(plans, "buy:month_1")
    bill = await buyer.reply()
    assert text_of(bill) == says("buy_pay", duration="1 мес.", price="199.00", currency="RUB")
    [url] = button_urls(bill)
    assert url.startswith(yookassa.url)
    await buyer.press(plans, "buy:month_1")  # a double tap: the same payment
    assert button_urls(await buyer.reply()) == [url]

    payment_id = url.rsplit("/", 1)[1]
    async with httpx.AsyncClient(base_url=yookassa.url, timeout=30) as shop:
        paid = await shop.post(f"/emulator/payments/{payment_id}/pay", params={"wait": "true"})
    assert paid.status_code == 200, paid.text
    await eventually(lambda: user_doc(db, 600020).get("purchases") == 1, worker)
    await buyer.press(menu, MenuAction(action="profile").pack())
    assert date(user_doc(db, 600020)["until"]) in text_of(await buyer.reply())


async def test_paying_with_renewal_shows_when_it_renews_and_turning_it_off_is_published(
    chat: Chat,
    yookassa: BackgroundServer,
    worker: Program,
    db: Database[Document],
) -> None:
    buyer = await chat(600021)
    [menu] = await buyer.ask("/start")
    await buyer.press(menu, MenuAction(action="buy").pack())
    plans = await buyer.reply()
    await buyer.press(plans, "buy:month_1")
    bill = await buyer.reply()
    assert callback_data(bill)[0] == "buyrenew:month_1"  # the offer, below the pay button
    await buyer.press(bill, "buyrenew:month_1")
    renewing = await buyer.reply()
    assert text_of(renewing) == says(
        "buy_pay_renewing", duration="1 мес.", price="199.00", currency="RUB"
    )
    [url] = button_urls(renewing)
    assert url not in button_urls(bill)  # another order: this one saves the card

    async with httpx.AsyncClient(base_url=yookassa.url, timeout=30) as shop:
        paid = await shop.post(
            f"/emulator/payments/{url.rsplit('/', 1)[1]}/pay", params={"wait": "true"}
        )
    assert paid.status_code == 200, paid.text
    await eventually(lambda: user_doc(db, 600021).get("auto_renewal") is True, worker)
    await buyer.press(menu, MenuAction(action="profile").pack())
    profile = await buyer.reply()
    renews_at = user_doc(db, 600021)["renews_at"]
    assert says("profile_renews", date=date(renews_at)) in text_of(profile)
    assert callback_data(profile)[0] == "renewoff"

    await buyer.press(profile, "renewoff")
    assert text_of(await buyer.reply()) == says("renewal_turned_off")
    await eventually(lambda: user_doc(db, 600021).get("auto_renewal") is False, worker)
    assert user_doc(db, 600021)["renews_at"] is None
    await buyer.press(menu, MenuAction(action="profile").pack())
    assert "renewoff" not in callback_data(await buyer.reply())


async def test_region_buttons_from_the_notifier_publish_the_choice(
    chat: Chat,
    notifier: Any,
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    chooser = await chat(600030)
    [menu] = await chooser.ask("/start")
    choices = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=c, callback_data=RegionChoice(country=c).pack())]
            for c in ("germany", "atlantis")
        ]
    )
    await notifier.send_message(
        600030, "✅ Оплата получена. Выберите регион:", reply_markup=choices
    )
    offer = await chooser.reply()

    await chooser.press(offer, "region:germany")
    assert text_of(await chooser.reply()) == says("region_chosen", region="Germany")
    await chooser.press(offer, "region:atlantis")  # not in the countries file
    assert text_of(await chooser.reply()) == says("region_unknown")
    chosen = await events_on(
        kafka_settings,
        topics,
        "bot.actions",
        lambda e: isinstance(e, RegionChosen) and e.telegram_id == 600030,
        at_least=1,
    )
    assert chosen == [RegionChosen(telegram_id=600030, region="germany")]
    await eventually(lambda: user_doc(db, 600030).get("region") == "germany", worker)

    await chooser.press(menu, MenuAction(action="region").pack())
    menu_of_regions = await chooser.reply()
    assert callback_data(menu_of_regions)[:2] == ["region:finland", "region:germany"]
    assert "✅ Germany" in [b["text"] for row in menu_of_regions["buttons"] for b in row]


async def test_connect_sends_every_link_the_subscription_url_and_its_qr_code(
    chat: Chat, notifier: Any
) -> None:
    subscription = "https://sub.keyland.example/s/0f3c9e"
    LINKS[600040] = {
        "links": {"germany": "vless://de-key@de.example:443", "finland": "vless://fi@fi:443"},
        "subscription_url": subscription,
    }
    member = await chat(600040)
    [menu] = await member.ask("/start")
    await member.press(menu, MenuAction(action="connect").pack())
    keys, picture = await member.expect(2)
    shown = text_of(keys)
    assert shown.index("Finland") < shown.index("vless://fi@fi:443") < shown.index("Germany")
    assert "vless://de-key@de.example:443" in shown
    assert subscription in shown
    assert {e["type"] for e in keys["entities"]} >= {"bold", "code"}
    assert picture["photo"]["sha256"] == hashlib.sha256(qr_png(subscription)).hexdigest()
    assert text_of(picture) == says("connect_qr_caption")

    # The notifier's "My keys" button leads to the same.
    await notifier.send_message(
        600040,
        "🔑",
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="Мои ключи", callback_data="menu:myKeys")]]
        ),
    )
    await member.press(await member.reply(), "menu:myKeys")
    assert subscription in text_of((await member.expect(2))[0])


async def test_bursts_over_telegrams_flood_limit_are_waited_out(
    chat: Chat, emulator: httpx.AsyncClient
) -> None:
    LINKS[600043] = {
        "links": {"finland": "vless://fi-600043@fi:443"},
        "subscription_url": "https://sub.keyland.example/s/600043",
    }
    member = await chat(600043)
    limits = f"/emulator/bots/{BOT_USERNAME}/rate-limits"
    assert (await emulator.put(limits, json={"enabled": True, "per_chat": 1})).status_code == 200
    try:
        keys, picture = await member.ask("/connect", count=2)
    finally:
        await emulator.put(limits, json={"enabled": False})
    assert "vless://fi-600043@fi:443" in text_of(keys)
    assert picture["photo"] is not None
    throttled = (await emulator.get(limits)).json()["throttled"]
    assert throttled["600043"] >= 1  # a 429 came and was retried


async def test_connect_without_keys_says_what_to_do(chat: Chat) -> None:
    newcomer = await chat(600041)
    await newcomer.ask("/start")
    [answer] = await newcomer.ask("/connect")
    assert text_of(answer) == says("connect_no_keys")
    assert callback_data(answer) == ["menu:trial", "menu:buy", "menu:menu"]


async def test_support_gives_the_configured_contact(chat: Chat) -> None:
    asker = await chat(600042)
    [answer] = await asker.ask("/support")
    assert text_of(answer) == says("support_info", contact="@keyland_help", telegram_id=600042)
    [menu] = await asker.ask("what is this?")
    assert text_of(menu) == says("unknown_input")


async def test_a_user_who_writes_or_presses_buttons_is_reported_seen_once_a_minute(
    chat: Chat, kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    visitor = await chat(600050)
    await visitor.ask("/support")
    [menu] = await visitor.ask("anyone there?")
    await visitor.callback_answer(await visitor.press(menu, MenuAction(action="support").pack()))

    def of_visitor(event: Event) -> bool:
        return isinstance(event, UserSeen) and event.telegram_id == 600050

    await events_on(kafka_settings, topics, "bot.actions", of_visitor, at_least=1)
    seen = await events_on(kafka_settings, topics, "bot.actions", of_visitor, timeout_s=3)
    assert seen == [UserSeen(telegram_id=600050)], "three updates within a minute: one event"


async def test_start_counts_as_seen_for_the_minute_after_it(
    chat: Chat, kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    starter = await chat(600051)
    await starter.ask("/start")
    await starter.ask("anyone there?")

    def of_starter(event: Event) -> bool:
        return isinstance(event, UserStarted | UserSeen) and event.telegram_id == 600051

    await events_on(kafka_settings, topics, "bot.actions", of_starter, at_least=1)
    events = await events_on(kafka_settings, topics, "bot.actions", of_starter, timeout_s=3)
    assert [type(e) for e in events] == [UserStarted], "UserStarted is the visit; no UserSeen"


# --- admins --------------------------------------------------------------------------


async def admin_events(
    kafka: KafkaSettings,
    topics: TopicNames,
    admin_id: int,
    kind: type[Event] = Event,
    *,
    at_least: int = 0,
) -> list[Event]:
    """What ``admin_id`` published (of ``kind``)."""
    return await events_on(
        kafka,
        topics,
        "admin.commands",
        lambda e: isinstance(e, kind) and getattr(e, "admin_id", None) == admin_id,
        at_least=at_least,
    )


async def test_admin_commands_and_buttons_from_anyone_else_are_refused(
    chat: Chat,
    notifier: Any,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    stranger = await chat(STRANGER)
    for command in ("/admin", "/find", "/broadcast", "/addtime", "/test", "/stats", "/block"):
        [answer] = await stranger.ask(command)
        assert text_of(answer) == says("admin_refused"), command
    [answer] = await stranger.ask("tgid=600001 days+=30")
    assert text_of(answer) == says("unknown_input")

    forged = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text="stats", callback_data=AdminMenu(tool=AdminTool.STATS).pack()
                )
            ],
            [InlineKeyboardButton(text="send", callback_data=BroadcastDecision(send=True).pack())],
        ]
    )
    await notifier.send_message(STRANGER, "…", reply_markup=forged)
    panel = await stranger.reply()
    for data in callback_data(panel):
        query = await stranger.press(panel, data)
        answered = await stranger.callback_answer(query)
        assert answered["answer"]["text"] == says("admin_refused")
    await stranger.quiet()
    assert await admin_events(kafka_settings, topics, STRANGER) == []


@pytest.fixture
async def targets(publisher: EventPublisher, db: Database[Document], worker: Program) -> None:
    """Users the admin tests act on, known to the read model."""
    if user_doc(db, 700001).get("registered"):
        return
    await register(publisher, db, telegram_id=700001, username="target_one", first_name="One")
    await register(publisher, db, telegram_id=700002, username="target_two", first_name="Two")


CLUMSY_SCRIPTS: dict[str, list[tuple[str, str | None]]] = {
    "find": [
        ("/find", says("admin_find_prompt")),
        ("700001", says("admin_target_expected")),
        ("tgid=abc", says("admin_target_expected")),
        ("tgid=1 tgid=2", says("admin_target_expected")),
        ("tgid=424242", says("admin_user_not_found", target="tgid=424242")),
        ("username=nobody_here", says("admin_user_not_found", target="username=nobody_here")),
        ("EXIT", says("admin_cancelled")),
    ],
    "addtime": [
        ("/addtime", says("admin_add_time_prompt")),
        ("days+=3", says("admin_target_expected")),
        ("tgid=424242 days+=3", says("admin_user_not_found", target="tgid=424242")),
        ("tgid=700001 days+=0", says("admin_adjustment_zero")),
        ("tgid=700001", says("admin_add_time_amounts_prompt", user="700001 @target_one")),
        ("days+=0 months+=0", says("admin_adjustment_zero")),
        ("days+=three", says("admin_adjustment_expected")),
        ("days=3", says("admin_adjustment_expected")),
        ("months+=1 days-=1", says("admin_adjustment_signs")),
        ("days+=-3", says("admin_adjustment_sign_inside", name="days", number="3")),
        ("months-=-1", says("admin_adjustment_sign_inside", name="months", number="1")),
        (f"days+={HORIZON_DAYS + 1}", says("admin_adjustment_range", max_days=HORIZON_DAYS)),
        ("months-=14", says("admin_adjustment_range", max_days=HORIZON_DAYS)),
        ("days+=99999", says("admin_adjustment_range", max_days=HORIZON_DAYS)),
        ("days+=1 days+=2", says("admin_adjustment_repeated", name="days")),
        ("exit", says("admin_cancelled")),
    ],
    "broadcast": [
        ("/broadcast", says("admin_broadcast_prompt")),
        ("Новости Keyland", says("admin_broadcast_buttons_prompt", names="profile myKeys support buy connect referral region")),
        ("Кнопки: profile settings", says("admin_buttons_unknown", unknown="settings", names="profile myKeys support buy connect referral region")),
        ("Кнопки:", says("admin_buttons_expected", names="profile myKeys support buy connect referral region")),
        ("нет", None),  # the preview
        ("да", says("admin_broadcast_confirm_expected")),
        ("EXIT", says("admin_cancelled")),
    ],
    "block": [
        ("/block", says("admin_block_prompt")),
        ("tgid=700001 maybe", says("admin_block_expected")),
        ("tgid=424242 block", says("admin_user_not_found", target="tgid=424242")),
        ("tgid=700001", says("admin_block_decision_prompt", user="700001 @target_one")),
        ("blocked", says("admin_block_expected")),
        ("EXIT", says("admin_cancelled")),
    ],
    "test": [
        ("/test", says("admin_test_prompt")),
        ("tgid=700001 soon", says("admin_delay_expected", max=604800)),
        ("tgid=700001 30 40", says("admin_target_expected")),
        ("tgid=700001", says("admin_test_delay_prompt", user="700001 @target_one")),
        ("-5", says("admin_delay_expected", max=604800)),
        ("604801", says("admin_delay_expected", max=604800)),
        ("1.5", says("admin_delay_expected", max=604800)),
        ("EXIT", says("admin_cancelled")),
    ],
}  # fmt: skip


@pytest.mark.parametrize("tool", sorted(CLUMSY_SCRIPTS))
async def test_malformed_admin_input_is_explained_and_publishes_nothing(
    tool: str,
    targets: None,
    chat: Chat,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    admin = await chat(CLUMSY_ADMIN, "Admin")
    for typed, expected in CLUMSY_SCRIPTS[tool]:
        [answer] = await admin.ask(typed)
        if expected is not None:
            assert text_of(answer) == expected, typed
    assert await admin_events(kafka_settings, topics, CLUMSY_ADMIN) == []


async def test_adding_time_publishes_the_adjustment_the_worker_applies(
    targets: None,
    chat: Chat,
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    admin = await chat(ADMIN, "Admin")
    [panel] = await admin.ask("/admin")
    assert text_of(panel) == says("admin_menu")
    await admin.press(panel, AdminMenu(tool=AdminTool.ADD_TIME).pack())
    assert text_of(await admin.reply()) == says("admin_add_time_prompt")
    await admin.ask("tgid=700001")
    [done] = await admin.ask("months+=1 days+=10")
    assert text_of(done) == says(
        "admin_adjustment_sent", user="700001 @target_one", months=1, days=10
    )
    await admin.ask("/addtime")
    await admin.ask("username=@Target_Two days-=3")

    adjusted = await admin_events(kafka_settings, topics, ADMIN, SubscriptionAdjusted, at_least=2)
    # Partitioned by the user: no order across users.
    assert sorted(adjusted, key=lambda e: getattr(e, "telegram_id", 0)) == [
        SubscriptionAdjusted(telegram_id=700001, months=1, days=10, admin_id=ADMIN),
        SubscriptionAdjusted(telegram_id=700002, months=0, days=-3, admin_id=ADMIN),
    ]
    await eventually(lambda: user_doc(db, 700001).get("until") is not None, worker)


async def test_blocking_from_the_menu_publishes_the_block_the_worker_applies(
    targets: None,
    chat: Chat,
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    admin = await chat(ADMIN, "Admin")
    [panel] = await admin.ask("/admin")
    await admin.press(panel, AdminMenu(tool=AdminTool.BLOCK).pack())
    assert text_of(await admin.reply()) == says("admin_block_prompt")
    [done] = await admin.ask("username=target_two block")
    assert text_of(done) == says("admin_block_sent", user="700002 @target_two")
    [sent] = await admin_events(kafka_settings, topics, ADMIN, UserBlockRequested, at_least=1)
    assert sent == UserBlockRequested(telegram_id=700002, blocked=True, admin_id=ADMIN)
    await eventually(lambda: user_doc(db, 700002).get("blocked") is True, worker)

    await admin.ask("/block")
    await admin.ask("tgid=700002")
    [lifted] = await admin.ask("unblock")
    assert text_of(lifted) == says("admin_unblock_sent", user="700002 @target_two")
    await eventually(lambda: user_doc(db, 700002).get("blocked") is False, worker)


async def test_broadcast_with_buttons_is_published_once_and_exit_cancels_any_step(
    chat: Chat, kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    admin = await chat(ADMIN, "Admin")
    for steps in (["/broadcast"], ["/broadcast", "Черновик"], ["/broadcast", "Черновик", "нет"]):
        for step in steps:
            await admin.ask(step)
        assert text_of((await admin.ask("EXIT"))[0]) == says("admin_cancelled")
    await admin.ask("/broadcast")
    await admin.ask("Черновик")
    [preview] = await admin.ask("нет")
    await admin.press(preview, BroadcastDecision(send=False).pack())
    assert text_of(await admin.reply()) == says("admin_cancelled")

    await admin.ask("/broadcast")
    await admin.ask("Скидка 20% до пятницы!")
    [preview] = await admin.ask("Кнопки: profile mykeys support")
    assert text_of(preview) == says(
        "admin_broadcast_preview", text="Скидка 20% до пятницы!", buttons="profile myKeys support"
    )
    await admin.press(preview, BroadcastDecision(send=True).pack())
    sent = text_of(await admin.reply())
    await admin.press(preview, BroadcastDecision(send=True).pack())  # a second tap
    assert text_of(await admin.reply()) == says("admin_nothing_to_confirm")

    broadcasts = await admin_events(kafka_settings, topics, ADMIN, BroadcastRequested)  # all
    assert len(broadcasts) == 1
    assert isinstance(broadcasts[0], BroadcastRequested)
    assert broadcasts[0].text == "Скидка 20% до пятницы!"
    assert broadcasts[0].buttons == ("profile", "myKeys", "support")
    assert sent == says("admin_broadcast_sent", broadcast_id=broadcasts[0].broadcast_id)


async def test_test_notification_is_requested_with_its_delay(
    targets: None,
    chat: Chat,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    admin = await chat(ADMIN, "Admin")
    await admin.ask("/test")
    [done] = await admin.ask("tgid=700002 30")
    assert text_of(done) == says("admin_test_sent", user="700002 @target_two", seconds=30)
    await admin.ask("/test")
    await admin.ask("username=target_one")
    await admin.ask("0")
    requested = [
        e
        for e in await admin_events(
            kafka_settings, topics, ADMIN, TestNotificationRequested, at_least=2
        )
        if isinstance(e, TestNotificationRequested)
    ]
    assert sorted((e.telegram_id, e.delay_seconds) for e in requested) == [
        (700001, 0),
        (700002, 30),
    ]
    assert requested[0].text == says("admin_test_text")


async def test_a_flow_survives_a_restart_of_the_bot_in_the_database(
    bot: PollingBot,
    chat: Chat,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    admin = await chat(ADMIN, "Admin")
    await admin.ask("/broadcast")
    await admin.ask("После перезапуска")
    assert db.bot_fsm.count_documents({"state": "Broadcast:buttons"}) == 1
    await bot.restart()
    [preview] = await admin.ask("нет")
    assert text_of(preview) == says(
        "admin_broadcast_preview", text="После перезапуска", buttons=says("admin_no_buttons")
    )
    await admin.ask("EXIT")
    assert db.bot_fsm.count_documents({"state": {"$exists": True}}) == 0


# --- how the bot runs ----------------------------------------------------------------


async def test_what_users_send_while_the_bot_restarts_is_answered(
    bot: PollingBot, chat: Chat
) -> None:
    someone = await chat(600070)
    await someone.send("/start")
    await someone.send("/support")
    await bot.restart()  # those updates are being handled, or still queued at Telegram
    answers = {text_of(m) for m in await someone.expect(2)}  # handled concurrently: any order
    assert answers == {
        says("menu_greeting", name="Test"),
        says("support_info", contact="@keyland_help", telegram_id=600070),
    }


async def test_the_command_menu_is_published_in_both_languages(
    bot: PollingBot, telegram: BackgroundServer
) -> None:
    reader = make_bot(TOKEN, telegram.url)
    try:
        russian = await reader.get_my_commands()
        english = await reader.get_my_commands(language_code="en")
    finally:
        await reader.session.close()
    assert [c.command for c in russian] == [c.command for c in english]
    assert [c.command for c in russian][:3] == ["start", "menu", "trial"]
    assert russian[0].description == says("command_start")
    assert english[0].description == text("command_start", "en")


async def test_fsm_storage_works_on_the_database_where_plain_pymongo_storage_does_not(
    mongo_settings: MongoSettings,
) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_settings.url, tz_aware=True)
    key = StorageKey(bot_id=1, chat_id=2, user_id=2)
    storage = FsmStorage(client, db_name=mongo_settings.database, collection_name="fsm_check")
    try:
        await storage.set_state(key, "Broadcast:text")
        assert await storage.update_data(key, {"text": "hi"}) == {"text": "hi"}
        assert await storage.update_data(key, {"buttons": ["profile"]}) == {
            "text": "hi",
            "buttons": ["profile"],
        }
        assert await storage.get_state(key) == "Broadcast:text"
        await storage.set_data(key, {})
        assert await storage.get_data(key) == {}
        await storage.set_state(key, None)
        assert await client[mongo_settings.database]["fsm_check"].count_documents({}) == 0

        build_info = await client.admin.command("buildInfo")
        if "ferretdbVersion" in build_info:  # why FsmStorage exists; MongoDB needs none of it
            plain = PyMongoStorage(client, db_name=mongo_settings.database, collection_name="x")
            await plain.set_state(key, "Broadcast:text")
            with pytest.raises(OperationFailure, match="not implemented"):
                await plain.update_data(key, {"text": "hi"})
    finally:
        await client.close()


async def test_the_dispatchers_shutdown_leaves_the_fsm_storage_to_updates_still_handled(
    mongo_settings: MongoSettings,
) -> None:
    """aiogram closes its FSM storage when polling stops, before the bot has drained the
    updates it took: the storage keeps working until the container releases it."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_settings.url, tz_aware=True)
    key = StorageKey(bot_id=1, chat_id=3, user_id=3)
    storage = FsmStorage(client, db_name=mongo_settings.database, collection_name="fsm_drain")
    await Dispatcher(storage=storage).emit_shutdown()  # as start_polling does on its way out
    await storage.set_state(key, "Broadcast:text")  # an update still being handled
    assert await storage.get_state(key) == "Broadcast:text"
    await storage.release()
    with pytest.raises(InvalidOperation):
        await storage.get_state(key)


async def test_webhook_mode_serves_updates_only_with_the_secret(
    service_env: dict[str, str],
    settings: BotSettings,
    emulator: httpx.AsyncClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    port = free_port()
    env = _webhook_env(service_env, settings, WEBHOOK_TOKEN, port)
    log = tmp_path_factory.mktemp("webhook-bot") / "bot.log"
    program = Program("services.bot", env, log).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/health", program)
        hook = TelegramUser(emulator, WEBHOOK_USERNAME, 600050, "Hook")
        await _until_webhook_set(emulator, program)
        [menu] = await hook.ask("/start")
        assert text_of(menu) == says("menu_greeting", name="Hook")
        async with httpx.AsyncClient() as outsider:
            forged = await outsider.post(
                f"http://127.0.0.1:{port}/telegram/webhook",
                json={"update_id": 1, "message": {}},
                headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
            )
        assert forged.status_code == 401
    finally:
        assert program.stop() == 0, program.log()[-3000:]


async def test_two_webhook_bots_share_one_url_and_one_dying_loses_no_update(
    service_env: dict[str, str],
    settings: BotSettings,
    emulator: httpx.AsyncClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Several bot instances behind one webhook URL: here on one port (SO_REUSEPORT), as
    behind a proxy across hosts. Both set the same webhook; after one is SIGKILLed, the
    user's next messages reach the other."""
    port = free_port()
    env = _webhook_env(service_env, settings, SHARED_TOKEN, port)
    logs = tmp_path_factory.mktemp("shared-hook-bots")
    ops_ports = [free_port(), free_port()]  # each instance's own: is it up?
    bots = [
        Program("services.bot", {**env, "KEYLAND_BOT_OPS_PORT": str(ops)}, logs / f"bot-{ops}.log")
        for ops in ops_ports
    ]
    try:
        for bot, ops in zip(bots, ops_ports, strict=True):
            bot.start()
            wait_http(f"http://127.0.0.1:{ops}/health", bot)
            wait_http(f"http://127.0.0.1:{port}/health", bot)
        await _until_webhook_set(emulator, bots[1], SHARED_USERNAME)
        user = TelegramUser(emulator, SHARED_USERNAME, 600060, "Twin")
        assert text_of((await user.ask("/start"))[0]) == says("menu_greeting", name="Twin")
        bots[0].kill()
        for _ in range(3):
            assert text_of((await user.ask("/start"))[0]) == says("menu_greeting", name="Twin")
        assert bots[1].process is not None
        assert bots[1].process.poll() is None
    finally:
        for bot in bots:
            bot.stop()


def _webhook_env(
    service_env: dict[str, str], settings: BotSettings, token: str, port: int
) -> dict[str, str]:
    return {
        **service_env,
        "KEYLAND_BOT_TOKEN": token,
        "KEYLAND_BOT_TELEGRAM_API_URL": str(settings.telegram_api_url),
        "KEYLAND_BOT_READ_API_URL": settings.read_api_url,
        "KEYLAND_BOT_READ_API_TOKEN": READ_TOKEN,
        "KEYLAND_BOT_PAYMENTS_URL": settings.payments_url,
        "KEYLAND_BOT_PAYMENTS_TOKEN": PAYMENTS_TOKEN,
        "KEYLAND_BOT_LINKS_URL": settings.links_url,
        "KEYLAND_BOT_LINKS_TOKEN": LINKS_TOKEN,
        "KEYLAND_BOT_MODE": "webhook",
        "KEYLAND_BOT_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
        "KEYLAND_BOT_WEBHOOK_SECRET": "hook-secret_1",
        "KEYLAND_BOT_WEBHOOK_PORT": str(port),
    }


async def _until_webhook_set(
    emulator: httpx.AsyncClient, program: Program, username: str = WEBHOOK_USERNAME
) -> None:
    url = ""

    async def check() -> None:
        nonlocal url
        url = (await emulator.get(f"/emulator/bots/{username}/webhook")).json()["url"]

    for _ in range(100):
        await check()
        if url:
            return
        assert program.process is not None
        assert program.process.poll() is None, program.log()[-3000:]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no webhook set:\n{program.log()[-3000:]}")


async def test_an_outage_of_the_read_api_is_told_and_start_still_works(
    settings: BotSettings,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    emulator: httpx.AsyncClient,
    telegram: BackgroundServer,
) -> None:
    broken = settings.model_copy(
        update={"token": SecretStr(OUTAGE_TOKEN), "read_api_url": f"http://127.0.0.1:{free_port()}"}
    )
    outage = PollingBot(broken, kafka_settings, mongo_settings)
    await outage.start()
    try:
        patient = TelegramUser(emulator, OUTAGE_USERNAME, 600060, "Pat")
        [menu] = await patient.ask("/start")
        assert text_of(menu) == says("menu_greeting", name="Pat")
        [sorry] = await patient.ask("/profile")
        assert text_of(sorry) == says("error_unavailable")
    finally:
        await outage.stop()


async def test_the_read_api_is_asked_only_by_what_needs_the_account(
    settings: BotSettings,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    emulator: httpx.AsyncClient,
    telegram: BackgroundServer,
) -> None:
    asked: list[str] = []

    async def nobody_known(request: Request) -> Response:
        asked.append(request.url.path)
        return JSONResponse({"detail": "unknown user"}, status_code=404)

    read_api = BackgroundServer().start(
        Starlette(routes=[Route("/v1/users/{telegram_id}", nobody_known)])
    )
    counted = settings.model_copy(
        update={"token": SecretStr(ASKING_TOKEN), "read_api_url": read_api.url}
    )
    asking = PollingBot(counted, kafka_settings, mongo_settings)
    await asking.start()
    try:
        speaks = TelegramUser(emulator, ASKING_USERNAME, 600070, "Lena", language_code="en")
        [menu] = await speaks.ask("/start")
        assert text_of(menu) == text("menu_greeting", "en", name="Lena")
        assert asked == [], "/start needs no account when Telegram tells the language"
        [profile] = await speaks.ask("/profile")
        assert text_of(profile) == text("profile_none", "en", telegram_id=600070)
        assert asked == ["/v1/users/600070"]
        silent = TelegramUser(emulator, ASKING_USERNAME, 600071, "Mo", language_code=None)
        await silent.ask("/start")
        assert asked[1:] == ["/v1/users/600071"], "no language from Telegram: the stored one"
    finally:
        await asking.stop()
        read_api.stop()


def test_bad_configuration_stops_start_up_naming_the_variable() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.bot"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "KEYLAND_BOT_TOKEN": "not a token",
             "KEYLAND_BOT_READ_API_TOKEN": "r", "KEYLAND_BOT_PAYMENTS_TOKEN": "p",
             "KEYLAND_BOT_LINKS_TOKEN": "l"},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "KEYLAND_BOT_TOKEN" in done.stderr
