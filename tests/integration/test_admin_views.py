"""What the admin reads in the bot, against known numbers: a known history goes through
Kafka, the subscription worker and its read API to the real bot in the Telegram emulator;
the statistics and the find-user card must say exactly what that history implies.

The module has its own topics and database, so the figures cover these users only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pymongo.database import Database

from emulators.serving import BackgroundServer
from events import Envelope, Event, external_event_id
from events.bot_actions import RegionChosen, UserStarted
from events.payments import PaymentSucceeded
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.settings import KafkaSettings, MongoSettings
from services.bot.locales import text
from tests.bot_harness import PollingBot, admin_bot
from tests.integration.test_business_figures import refund, trial
from tests.notifier_harness import BOT, telegram
from tests.processes import Program
from tests.services import read_api
from tests.telegram_chat import TelegramUser, text_of

pytestmark = pytest.mark.integration

READ_TOKEN = "views-read-token"
ADMIN = 530001
REFERRER, CAROL, DAVE, LAPSED, REFUNDED, TRIALIST = range(810001, 810007)
# Minutes only, so that the seconds added below never change a displayed time.
T0 = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)


def says(key: str, **values: Any) -> str:
    return text(key, "ru", **values)


def shown(moment: datetime) -> str:
    return f"{moment:%d.%m.%Y %H:%M} UTC"


def at(moment: datetime, event: Event) -> Envelope[Event]:
    return Envelope.new(event, producer="tests", occurred_at=moment)


def paid(
    telegram_id: int, moment: datetime, amount: str, *, months: int = 0, days: int = 0
) -> Envelope[Event]:
    event = PaymentSucceeded(
        telegram_id=telegram_id, payment_id=f"views-{telegram_id}", plan="known", months=months,
        days=days, amount=Decimal(amount), currency="RUB", paid_at=moment,
    )  # fmt: skip
    event_id = external_event_id("yookassa", event.payment_id, event.event_type)
    return Envelope.new(event, producer="tests", occurred_at=moment, event_id=event_id)


def history() -> tuple[list[Envelope[Event]], list[Envelope[Event]]]:
    """Six users, who start the bot (first list) before they pay (second list):
    - REFERRER started and did nothing else;
    - CAROL, invited by REFERRER: trial, 30 paid days for 199.00, a region, and 10 bonus
      days when DAVE, whom she invited, paid a month;
    - DAVE paid a month for 199.00;
    - LAPSED paid 10.00 for a day that ended two days ago;
    - REFUNDED paid 199.00 for 30 days and got 49.00 back;
    - TRIALIST took the trial only.
    """
    lapsed = T0 - timedelta(days=3)
    refunded = paid(REFUNDED, T0 + timedelta(seconds=1), "199.00", days=30)
    started = [
        at(T0 - timedelta(hours=1), UserStarted(telegram_id=REFERRER, username="referrer")),
        at(T0, UserStarted(telegram_id=CAROL, username="carol", referrer_id=REFERRER)),
        trial(CAROL, T0 + timedelta(seconds=1)),
        at(T0 + timedelta(seconds=3), UserStarted(telegram_id=DAVE, referrer_id=CAROL)),
        at(T0 + timedelta(seconds=5), RegionChosen(telegram_id=CAROL, region="finland")),
        at(lapsed, UserStarted(telegram_id=LAPSED)),
        at(T0, UserStarted(telegram_id=REFUNDED)),
        at(T0, UserStarted(telegram_id=TRIALIST)),
        trial(TRIALIST, T0 + timedelta(seconds=1)),
    ]
    payments = [
        paid(CAROL, T0 + timedelta(seconds=2), "199.00", days=30),
        paid(DAVE, T0 + timedelta(seconds=4), "199.00", months=1),
        paid(LAPSED, lapsed + timedelta(seconds=1), "10.00", days=1),
        refunded,
        refund(refunded, "49.00", T0 + timedelta(seconds=2)),
    ]
    return started, payments


FIGURES = {
    "users": 6,
    "active": 4,  # CAROL, DAVE, REFUNDED (about 22 of 30 days left), TRIALIST
    "trials": 2,
    "paid": 4,
    "revenue": {"RUB": "558.00"},  # 199 + 199 + 10 + (199 - 49)
    "trial_to_paid": 0.5,  # of the two trials, CAROL's was followed by a payment
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundServer]:
    with telegram() as server:
        yield server


@pytest.fixture(scope="module")
def api(
    service_env: dict[str, str], worker: Program, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with read_api(service_env, tmp_path_factory.mktemp("views"), READ_TOKEN) as url:
        yield url


async def until(
    check: Callable[[httpx.AsyncClient], Awaitable[tuple[bool, object]]],
    api: str,
    worker: Program,
) -> None:
    """Poll the read API until ``check`` holds (its second value says what was seen)."""
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(
        base_url=api, headers={"Authorization": f"Bearer {READ_TOKEN}"}
    ) as client:
        while not (found := await check(client))[0]:
            assert worker.process is not None
            assert worker.process.poll() is None, worker.log()[-3000:]
            assert time.monotonic() < deadline, found[1]
            await asyncio.sleep(0.3)


async def all_registered(client: httpx.AsyncClient) -> tuple[bool, object]:
    ids = (await client.get("/v1/users/ids")).json()["telegram_ids"]
    return len(ids) == 6, ids


async def figures_known(client: httpx.AsyncClient) -> tuple[bool, object]:
    figures = (await client.get("/v1/stats")).json()
    carol = (await client.get(f"/v1/users/{CAROL}")).json()
    return figures == FIGURES and carol["referral_days_earned"] == 10, (figures, carol)


@pytest.fixture(scope="module")
async def seeded(
    api: str,
    worker: Program,
    kafka_settings: KafkaSettings,
    created_topics: TopicNames,
    db: Database[Document],
) -> None:
    """The history published once and applied by the worker (``db``: dropped after)."""
    started, payments = history()
    publisher = EventPublisher.from_settings(kafka_settings, client_id="views")
    try:
        for envelope in started:
            await publisher.publish(envelope)
        await until(all_registered, api, worker)
        for envelope in payments:
            await publisher.publish(envelope)
    finally:
        await publisher.close()
    await until(figures_known, api, worker)


@pytest.fixture(scope="module")
async def bot(
    api: str,
    emulator: BackgroundServer,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
) -> AsyncIterator[PollingBot]:
    async with admin_bot(
        emulator.url, ADMIN, (api, READ_TOKEN), kafka_settings, mongo_settings
    ) as running:
        yield running


@pytest.fixture
async def admin(bot: PollingBot, emulator: BackgroundServer) -> AsyncIterator[TelegramUser]:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=70) as chats:
        someone = TelegramUser(chats, BOT, ADMIN, "Admin")
        await someone.catch_up()
        yield someone


async def test_stats_message_states_the_known_figures(seeded: None, admin: TelegramUser) -> None:
    [chart] = await admin.ask("/stats")
    assert text_of(chart) == (
        "📊 Статистика\n"
        "Пользователей: 6\n"
        "С активным доступом: 4\n"  # noqa: RUF001 - Russian
        "Брали пробный период: 2\n"
        "Платили: 4\n"
        "Конверсия пробный → оплата: 50.0%\n"
        "Выручка: 558.00 RUB"
    )
    assert (chart["photo"]["width"], chart["photo"]["height"]) == (800, 480)


def no_traffic() -> str:
    """The card's traffic line for a user no node counted anything of this month."""
    return says("admin_user_traffic", month=f"{datetime.now(UTC):%Y-%m}", down="0 Б", up="0 Б")


async def test_find_user_card_states_everything_known_about_the_user(
    seeded: None, admin: TelegramUser
) -> None:
    [prompt] = await admin.ask("/find")
    assert text_of(prompt) == says("admin_find_prompt")
    card, menu = await admin.ask("username=@Carol", 2)
    # Trial from T0+1s for 3 days, then 30 paid days, then DAVE's month: 10 bonus days.
    until = T0 + timedelta(seconds=1) + timedelta(days=3 + 30 + 10)
    left = -(-(until - datetime.now(UTC)) // timedelta(days=1))
    assert left == 43  # the test runs within 22 hours of T0 + 2 h
    assert text_of(card) == (
        f"👤 {CAROL} @carol\n"
        f"Зарегистрирован: {shown(T0)}\n"
        f"Доступ: до {shown(until)} (осталось дней: 43)\n"
        "Пробный период: использован\n"
        f"Покупок: 1, последняя: {shown(T0)}\n"
        "Регион: finland\n"
        f"Пригласил: {REFERRER}\n"
        "Бонусных дней за друзей: 10\n"
        f"{no_traffic()}"
    )
    assert text_of(menu) == says("admin_menu")

    await admin.ask("/find")
    card, _ = await admin.ask(f"tgid={REFERRER}", 2)
    assert text_of(card) == (
        f"👤 {REFERRER} @referrer\n"
        f"Зарегистрирован: {shown(T0 - timedelta(hours=1))}\n"
        "Доступ: нет\n"
        "Пробный период: доступен\n"
        "Покупок: 0, последняя: —\n"
        "Регион: —\n"
        "Пригласил: —\n"
        "Бонусных дней за друзей: 0\n"
        f"{no_traffic()}"
    )
