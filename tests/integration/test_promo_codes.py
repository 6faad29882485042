"""Promo codes and gifts through the running pieces: an admin creates a code in the real
bot's admin menu (Telegram emulator), users redeem it with /promo and the deep link, the
subscription worker decides on the code's partition, the notifier tells each user the
outcome; fifty users at once on a one-use code give one grant, and a replay of the topics
grants nothing more. A gift is bought in the bot and paid in the YooKassa emulator; its
link gives it once, to the first other user who opens it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from pymongo.database import Database

from emulators.serving import BackgroundServer
from emulators.yookassa import DeliveryPolicy
from events.registry import TopicNames
from events.subscriptions import PromoCodeRedeemed, PromoCodeRefused
from keyland.mongo import Document
from keyland.settings import KafkaSettings, MongoSettings
from services.bot.config import BotSettings
from services.bot.keyboards.callbacks import AdminMenu, AdminTool, BuyGift, GiftPlans
from services.bot.locales import text
from services.notifier.locales import text as notifier_text
from services.subscription.bootstrap import INPUT_TOPICS
from tests.bot_harness import PollingBot
from tests.consumer_groups import behind, rewind
from tests.kafka_tail import read_topic
from tests.notifier_harness import BOT, BOT_TOKEN, notifier, telegram
from tests.processes import Program, free_port
from tests.services import payments_ingest, read_api, yookassa_emulator
from tests.telegram_chat import TelegramUser, button_urls, text_of
from tests.user_docs import user_doc
from tests.waiting import eventually

pytestmark = pytest.mark.integration

READ_TOKEN, PAYMENTS_TOKEN = "promo-read-token", "promo-payments-token"
SHOP = ("100600", "promo_secret_key")
ADMIN = 530001


def says(key: str, **values: Any) -> str:
    return text(key, "ru", **values)


def notified(key: str, **values: Any) -> str:
    return notifier_text(key, "ru", **values)


def shown(moment: datetime) -> str:
    return f"{moment:%d.%m.%Y %H:%M} UTC"


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundServer]:
    with telegram() as server:
        yield server


@pytest.fixture(scope="module")
def ingest_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def yookassa(ingest_port: int) -> Iterator[BackgroundServer]:
    delivery = DeliveryPolicy(attempts=3, base_delay_s=0.2, timeout_s=10)
    with yookassa_emulator(SHOP, ingest_port, delivery) as server:
        yield server


@pytest.fixture(scope="module")
def services(
    service_env: dict[str, str],
    created_topics: TopicNames,
    emulator: BackgroundServer,
    yookassa: BackgroundServer,
    ingest_port: int,
    worker: Program,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Program, str]]:
    """The read API's URL, the notifier and the payments ingest's URL."""
    logs = tmp_path_factory.mktemp("promo")
    telling = notifier(service_env, emulator, logs).start()
    with (
        read_api(service_env, logs, READ_TOKEN) as api,
        payments_ingest(
            service_env,
            logs,
            port=ingest_port,
            token=PAYMENTS_TOKEN,
            shop=SHOP,
            yookassa_url=yookassa.url,
        ) as ingest,
    ):
        yield api, telling, ingest.url
    telling.stop()


@pytest.fixture(scope="module")
async def bot(
    services: tuple[str, Program, str],
    emulator: BackgroundServer,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
) -> AsyncIterator[PollingBot]:
    api, _, ingest = services
    settings = BotSettings(
        token=SecretStr(BOT_TOKEN),
        telegram_api_url=emulator.url,
        admin_ids=[ADMIN],
        read_api_url=api,
        read_api_token=SecretStr(READ_TOKEN),
        payments_url=ingest,
        payments_token=SecretStr(PAYMENTS_TOKEN),
        links_token=SecretStr("unused-links-token"),
        http_timeout_s=10,
    )
    running = PollingBot(settings, kafka_settings, mongo_settings)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture(scope="module")
async def chats(emulator: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=70) as client:
        yield client


async def started(
    chats: httpx.AsyncClient, db: Database[Document], worker: Program, telegram_id: int
) -> TelegramUser:
    """Someone who sent /start through the bot and is registered."""
    someone = TelegramUser(chats, BOT, telegram_id)
    await someone.catch_up()
    await someone.ask("/start")
    await eventually(lambda: user_doc(db, telegram_id).get("registered") is True, worker)
    return someone


async def told(person: TelegramUser, expected: str, *programs: Program) -> None:
    """``expected`` arrives in ``person``'s chat (among whatever else the bot says)."""

    async def texts() -> list[str]:
        return [text_of(m) for m in await person.bot_messages(0, 0)]

    for _ in range(300):
        if expected in await texts():
            return
        for program in programs:
            assert program.process is not None
            assert program.process.poll() is None, program.log()[-3000:]
        await asyncio.sleep(0.2)
    raise AssertionError(f"{person.id} was not told {expected!r}; got {await texts()}")


async def told_count(person: TelegramUser, expected: str) -> int:
    return [text_of(m) for m in await person.bot_messages(0, 0)].count(expected)


async def create_code(admin: TelegramUser, line: str) -> str:
    """Create a code from the admin menu; what the bot answers."""
    [panel] = await admin.ask("/admin")
    await admin.press(panel, AdminMenu(tool=AdminTool.PROMO).pack())
    assert text_of(await admin.reply()) == says("admin_promo_prompt")
    [answer] = await admin.ask(line)
    return text_of(answer)


@pytest.fixture(scope="module")
async def admin(
    bot: PollingBot, chats: httpx.AsyncClient, db: Database[Document], worker: Program
) -> TelegramUser:
    return await started(chats, db, worker, ADMIN)


def code_of(db: Database[Document], code: str) -> Document:
    return db["promo_codes"].find_one({"_id": code}) or {}


async def test_an_admin_creates_a_code_and_users_redeem_it_by_command_and_by_link(
    admin: TelegramUser,
    chats: httpx.AsyncClient,
    services: tuple[str, Program, str],
    worker: Program,
    db: Database[Document],
) -> None:
    _, telling, _ = services
    refused = await create_code(admin, "winter days=14 uses=5 nonsense=1")
    assert refused == says("admin_promo_expected")
    answer = await create_code(admin, "winter days=14 uses=5 valid=30")
    assert "https://t.me/keyland_notifier_test_bot?start=promo_WINTER" in answer
    await eventually(lambda: code_of(db, "WINTER").get("max_uses") == 5, worker)

    anna = await started(chats, db, worker, 530010)
    assert text_of((await anna.ask("/promo"))[0]) == says("promo_usage")
    assert text_of((await anna.ask("/promo winter"))[0]) == says("promo_sent", code="WINTER")
    await eventually(lambda: user_doc(db, anna.id).get("until") is not None, worker)
    anna_until = user_doc(db, anna.id)["until"]
    registered = user_doc(db, anna.id)["registered_at"]
    assert registered + timedelta(days=14) <= anna_until < registered + timedelta(days=15)
    await told(anna, notified("notice_promo_applied", until=shown(anna_until)), telling)

    await anna.ask("/promo WINTER")
    await told(anna, notified("notice_promo_already_used", code="WINTER"), telling)
    assert user_doc(db, anna.id)["until"] == anna_until

    # Someone who never started the bot opens the link: registered, then granted.
    boris = TelegramUser(chats, BOT, 530011)
    await boris.send("/start promo_WINTER")
    await eventually(lambda: user_doc(db, boris.id).get("until") is not None, worker)
    boris_until = user_doc(db, boris.id)["until"]
    assert boris_until > user_doc(db, boris.id)["registered_at"] + timedelta(days=13)
    await told(boris, says("promo_sent", code="WINTER"))
    await told(boris, notified("notice_promo_applied", until=shown(boris_until)), telling)

    await anna.ask("/promo NOSUCHCODE")
    await told(anna, notified("notice_promo_unknown", code="NOSUCHCODE"), telling)
    assert code_of(db, "WINTER")["uses"] == 2


async def test_fifty_at_once_on_a_one_use_code_give_one_grant_and_a_replay_nothing_more(
    admin: TelegramUser,
    chats: httpx.AsyncClient,
    services: tuple[str, Program, str],
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    service_env: dict[str, str],
) -> None:
    _, telling, _ = services
    await create_code(admin, "ONCE days=7 uses=1 valid=1")
    await eventually(lambda: code_of(db, "ONCE").get("max_uses") == 1, worker)
    users = [TelegramUser(chats, BOT, 531000 + n) for n in range(50)]
    await asyncio.gather(*(user.send("/start") for user in users))
    await eventually(
        lambda: all(user_doc(db, u.id).get("registered") for u in users), worker, timeout_s=120
    )

    await asyncio.gather(*(user.send("/promo ONCE") for user in users))
    decided = {"code": "ONCE"}
    await eventually(
        lambda: db["promo_decisions"].count_documents(decided) == 50, worker, timeout_s=120
    )
    await eventually(
        lambda: sum(user_doc(db, u.id).get("until") is not None for u in users) >= 1, worker
    )
    granted = [u for u in users if user_doc(db, u.id).get("until") is not None]
    assert len(granted) == 1
    [winner] = granted
    winner_until = user_doc(db, winner.id)["until"]
    await told(winner, notified("notice_promo_applied", until=shown(winner_until)), telling)
    used_up = notified("notice_promo_used_up", code="ONCE")
    losers = [u for u in users if u is not winner]
    for loser in losers:
        await told(loser, used_up, telling)
    assert code_of(db, "ONCE")["uses"] == 1

    # Replay: the worker stopped, its group rewound to the start of every input topic.
    published = await read_topic(kafka_settings.bootstrap, topics("subscriptions"), timeout_s=2)
    answers = {
        e.event_id for e in published if isinstance(e.payload, PromoCodeRedeemed | PromoCodeRefused)
    }
    group = {service_env["KEYLAND_SUBSCRIPTION_APP_ID"]: INPUT_TOPICS}
    worker.stop()
    await rewind(kafka_settings, topics, group)
    assert await behind(kafka_settings.bootstrap, topics, group) > 0
    worker.start()

    async def caught_up() -> None:
        for _ in range(600):
            if await behind(kafka_settings.bootstrap, topics, group) == 0:
                return
            assert worker.process is not None
            assert worker.process.poll() is None, worker.log()[-3000:]
            await asyncio.sleep(0.2)
        raise AssertionError("the replaying worker did not catch up")

    await caught_up()
    await caught_up()  # and what it re-published on ``subscriptions`` read back too
    assert [u for u in users if user_doc(db, u.id).get("until") is not None] == [winner]
    assert user_doc(db, winner.id)["until"] == winner_until
    assert code_of(db, "ONCE")["uses"] == 1
    again = await read_topic(kafka_settings.bootstrap, topics("subscriptions"), timeout_s=2)
    replayed = {
        e.event_id for e in again if isinstance(e.payload, PromoCodeRedeemed | PromoCodeRefused)
    }
    assert replayed == answers  # the same answers, under the same ids
    await asyncio.sleep(2)  # the notifier had time to act on the re-published answers
    assert (
        await told_count(winner, notified("notice_promo_applied", until=shown(winner_until))) == 1
    )
    for loser in losers:
        assert await told_count(loser, used_up) == 1


async def test_a_gift_goes_once_to_the_first_other_user_who_opens_its_link(
    admin: TelegramUser,
    chats: httpx.AsyncClient,
    services: tuple[str, Program, str],
    yookassa: BackgroundServer,
    worker: Program,
    db: Database[Document],
) -> None:
    _, telling, _ = services
    buyer = await started(chats, db, worker, 532001)
    [menu] = await buyer.ask("/buy")
    await buyer.press(menu, GiftPlans().pack())
    plans = await buyer.reply()
    assert text_of(plans) == says("buy_gift_choose")
    await buyer.press(plans, BuyGift(plan="month_1").pack())
    bill = await buyer.reply()
    found = re.search(r"start=gift_([A-Z0-9]{32})", text_of(bill))
    assert found is not None, text_of(bill)
    code = found.group(1)
    [url] = button_urls(bill)
    payment_id = url.rstrip("/").rsplit("/", 1)[1]

    # Opened before it is paid: no such gift yet.
    early = await started(chats, db, worker, 532002)
    await early.send(f"/start gift_{code}")
    await told(early, notified("notice_gift_unknown"), telling)

    async with httpx.AsyncClient(base_url=yookassa.url, timeout=30) as shop:
        paid = await shop.post(f"/emulator/payments/{payment_id}/pay", params={"wait": "true"})
    assert paid.status_code == 200, paid.text
    await told(buyer, notified("notice_gift_paid", plan="month_1"), telling)
    await eventually(lambda: code_of(db, code).get("buyer") == buyer.id, worker)
    assert user_doc(db, buyer.id).get("until") is None  # the gift is not the buyer's time
    recorded = db["payments"].find_one({"_id": f"yookassa:{payment_id}"}) or {}
    assert (recorded.get("status"), recorded.get("telegram_id")) == ("gift", buyer.id)

    await buyer.send(f"/start gift_{code}")
    await told(buyer, notified("notice_gift_own"), telling)

    # Someone who never started the bot opens it first and gets the month.
    friend = TelegramUser(chats, BOT, 532003)
    await friend.send(f"/start gift_{code}")
    await eventually(lambda: user_doc(db, friend.id).get("until") is not None, worker)
    friend_until = user_doc(db, friend.id)["until"]
    registered = user_doc(db, friend.id)["registered_at"]
    assert registered + timedelta(days=28) <= friend_until < registered + timedelta(days=32)
    await told(friend, notified("notice_gift_received", until=shown(friend_until)), telling)

    await friend.send(f"/start gift_{code}")
    await told(friend, notified("notice_gift_claimed"), telling)
    await early.send(f"/start gift_{code}")
    await told(early, notified("notice_gift_claimed"), telling)
    assert user_doc(db, friend.id)["until"] == friend_until
    assert user_doc(db, early.id).get("until") is None
    assert user_doc(db, buyer.id).get("until") is None
    assert code_of(db, code)["uses"] == 1
