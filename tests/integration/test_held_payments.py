"""Held money, from the shop to the admin's decision, all real: the YooKassa emulator pays,
our ingest holds, the subscription worker records, the notifier alerts the admin in the
Telegram emulator, and the admin grants or refunds by pressing the real bot's buttons.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from pymongo.database import Database

from emulators.serving import BackgroundServer
from emulators.yookassa import DeliveryPolicy
from events.admin_commands import HeldPaymentGranted
from events.registry import TopicNames
from keyland.mongo import Document
from keyland.settings import KafkaSettings, MongoSettings
from services.bot.config import BotSettings
from services.bot.keyboards.callbacks import AdminMenu, AdminTool, HeldDecision
from services.bot.locales import text
from services.notifier.locales import text as notifier_text
from tests.bot_harness import PollingBot
from tests.kafka_tail import read_topic
from tests.notifier_harness import BOT, BOT_TOKEN, notifier, telegram
from tests.processes import Program, free_port
from tests.services import payments_ingest, read_api, shop_payment, yookassa_emulator
from tests.telegram_chat import Message, TelegramUser, text_of
from tests.user_docs import user_doc
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SHOP = ("100500", "test_secret_key")
READ_TOKEN, PAYMENTS_TOKEN = "held-read-token", "held-payments-token"
ADMIN = 520001
SDK_MARK = "cms_name=yookassa_sdk_python"  # the official SDK adds it to every payment's metadata


def says(key: str, **values: Any) -> str:
    return text(key, "ru", **values)


def notified(key: str, **values: Any) -> str:
    """What the notifier tells the admins, in Russian."""
    return notifier_text(key, "ru", **values)


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
) -> Iterator[tuple[str, str, Program]]:
    """The ingest and read API URLs and the notifier alerting ``ADMIN``."""
    logs = tmp_path_factory.mktemp("held")
    alerting = notifier(service_env, emulator, logs, alert_ids=f"[{ADMIN}]").start()
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
        yield ingest.url, api, alerting
    alerting.stop()


@pytest.fixture(scope="module")
async def bot(
    services: tuple[str, str, Program],
    emulator: BackgroundServer,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
) -> AsyncIterator[PollingBot]:
    ingest, api, _ = services
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


@pytest.fixture
async def admin(
    bot: PollingBot, chats: httpx.AsyncClient, db: Database[Document], worker: Program
) -> TelegramUser:
    if user_doc(db, ADMIN).get("registered"):
        someone = TelegramUser(chats, BOT, ADMIN)
        await someone.catch_up()
        return someone
    return await started(chats, db, worker, ADMIN)


async def told(person: TelegramUser, expected: str, program: Program) -> None:
    """``expected`` arrives in ``person``'s chat (among whatever else the bot says)."""

    async def arrived() -> bool:
        return expected in [text_of(m) for m in await person.bot_messages(0, 0)]

    for _ in range(150):
        if await arrived():
            await person.catch_up()
            return
        assert program.process is not None
        assert program.process.poll() is None, program.log()
        await asyncio.sleep(0.2)
    got = [text_of(m) for m in await person.bot_messages(0, 0)]
    raise AssertionError(f"{person.id} was not told {expected!r}; got {got}")


def recorded(db: Database[Document], payment_id: str) -> bool:
    """The subscription worker recorded ``payment_id`` as held."""
    found = db["payments"].find_one({"_id": f"yookassa:{payment_id}"}) or {}
    return found.get("status") == "held"


async def card_of(admin: TelegramUser, api: str, payment_id: str) -> Message:
    """Open the admin menu's held payments and return the card of ``payment_id``."""
    pending = await held_ids(api)
    assert payment_id in pending
    [panel] = await admin.ask("/admin")
    await admin.press(panel, AdminMenu(tool=AdminTool.HELD).pack())
    assert text_of(await admin.reply()) == says("admin_held_title", n=len(pending))
    [card] = [c for c in await admin.expect(len(pending)) if payment_id in text_of(c)]
    return card


def pay(yookassa: BackgroundServer, payment_id: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{yookassa.url}/emulator/payments/{payment_id}/pay", params={"wait": "true"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    assert result["deliveries"][0]["attempts"][-1]["status"] == 200
    return result


async def held_ids(api: str) -> list[str]:
    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        listed = await client.get(
            "/v1/payments/held", headers={"Authorization": f"Bearer {READ_TOKEN}"}
        )
    assert listed.status_code == 200, listed.text
    return [str(p["payment_id"]) for p in listed.json()["payments"]]


async def test_a_held_payment_is_alerted_and_granted_from_the_menu_exactly_once(
    admin: TelegramUser,
    chats: httpx.AsyncClient,
    yookassa: BackgroundServer,
    services: tuple[str, str, Program],
    worker: Program,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    _, api, alerting = services
    buyer = 520010
    await started(chats, db, worker, buyer)
    metadata = {"telegram_id": str(buyer), "plan": "month_1"}
    payment_id = shop_payment(yookassa.url, SHOP, "1.00", metadata)  # not our order
    pay(yookassa, payment_id)
    alert = notified(
        "notice_payment_held",
        payment_id=payment_id,
        amount="1.00 RUB",
        telegram_id=buyer,
        plan="month_1",
        reason="no_order",
        metadata=f"{SDK_MARK}, plan=month_1, telegram_id={buyer}",
    )
    await told(admin, alert, alerting)
    await eventually(lambda: recorded(db, payment_id), worker)
    assert user_doc(db, buyer).get("until") is None

    card = await card_of(admin, api, payment_id)
    assert text_of(card) == says(
        "admin_held_card",
        payment_id=payment_id,
        amount="1.00 RUB",
        telegram_id=buyer,
        plan="month_1",
        reason="no_order",
        metadata=f"{SDK_MARK}, plan=month_1, telegram_id={buyer}",
    )
    grant = HeldDecision(payment_id=payment_id, grant=True).pack()
    await admin.press(card, grant)
    await admin.press(card, grant)  # a second tap, before the first is applied
    granted = says("admin_held_granted", payment_id=payment_id, plan="month_1", user=buyer)
    gone = says("admin_held_gone", payment_id=payment_id)
    answers = [text_of(m) for m in await admin.expect(2)]
    assert answers[0] == granted
    assert answers[1] in (granted, gone)

    await eventually(lambda: user_doc(db, buyer).get("purchases") == 1, worker)
    until = user_doc(db, buyer)["until"]
    await admin.press(card, grant)  # and once more, long after
    assert text_of(await admin.reply()) == gone
    await asyncio.sleep(2)
    assert (user_doc(db, buyer)["purchases"], user_doc(db, buyer)["until"]) == (1, until)
    registered = user_doc(db, buyer)["registered_at"]
    assert registered + timedelta(days=27) < until < registered + timedelta(days=32)
    assert payment_id not in await held_ids(api)
    grants = await read_topic(kafka_settings.bootstrap, topics("admin.commands"), timeout_s=2)
    ids = {e.event_id for e in grants if isinstance(e.payload, HeldPaymentGranted)}
    assert len(ids) == 1  # however often pressed, one grant


async def test_a_held_payment_naming_nobody_is_refunded_from_the_menu(
    admin: TelegramUser,
    yookassa: BackgroundServer,
    services: tuple[str, str, Program],
    worker: Program,
    db: Database[Document],
) -> None:
    _, api, alerting = services
    note = f"dashboard-{uuid.uuid4().hex[:6]}"
    payment_id = shop_payment(yookassa.url, SHOP, "7.50", {"note": note})
    pay(yookassa, payment_id)
    alert = notified(
        "notice_payment_held",
        payment_id=payment_id,
        amount="7.50 RUB",
        telegram_id="—",
        plan="—",
        reason="no_order",
        metadata=f"{SDK_MARK}, note={note}",
    )
    await told(admin, alert, alerting)
    await eventually(lambda: recorded(db, payment_id), worker)

    card = await card_of(admin, api, payment_id)
    await admin.press(card, HeldDecision(payment_id=payment_id, grant=False).pack())
    assert text_of(await admin.reply()) == says("admin_held_refunded", payment_id=payment_id)

    async with httpx.AsyncClient(base_url=yookassa.url, timeout=10) as shop:
        found = await shop.get(f"/v3/payments/{payment_id}", auth=SHOP)
        assert Decimal(found.json()["refunded_amount"]["value"]) == Decimal("7.50")
        listed = await shop.get(
            "/emulator/deliveries",
            params={"payment_id": payment_id, "event": "refund.succeeded", "wait": "true"},
        )
    [refund] = listed.json()["items"]
    assert [a["status"] for a in refund["attempts"]] == [200]  # taken at once, not refused
    for _ in range(100):
        if payment_id not in await held_ids(api):
            break
        await asyncio.sleep(0.2)
    assert payment_id not in await held_ids(api)
    [panel] = await admin.ask("/held")
    assert payment_id not in text_of(panel)


async def test_credit_for_an_id_that_never_started_is_alerted_and_applied_at_their_start(
    admin: TelegramUser,
    chats: httpx.AsyncClient,
    yookassa: BackgroundServer,
    services: tuple[str, str, Program],
    worker: Program,
    db: Database[Document],
) -> None:
    ingest, _, alerting = services
    newcomer = 520030
    async with httpx.AsyncClient(base_url=ingest, timeout=10) as client:
        ordered = await client.post(
            "/payments",
            json={"telegram_id": newcomer, "plan": "month_1", "order_id": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {PAYMENTS_TOKEN}"},
        )
    assert ordered.status_code == 201, ordered.text
    payment_id = str(ordered.json()["payment_id"])
    pay(yookassa, payment_id)
    alert = notified(
        "notice_credit_held",
        payment_id=f"yookassa:{payment_id}",
        amount="199.00 RUB",
        telegram_id=newcomer,
        plan="month_1",
    )
    await told(admin, alert, alerting)
    assert user_doc(db, newcomer)["registered"] is False
    assert user_doc(db, newcomer).get("until") is None

    await started(chats, db, worker, newcomer)
    await eventually(lambda: user_doc(db, newcomer).get("purchases") == 1, worker)
    registered = user_doc(db, newcomer)["registered_at"]
    until = user_doc(db, newcomer)["until"]
    assert registered + timedelta(days=27) < until < registered + timedelta(days=32)


async def test_a_canceled_payment_alerts_the_admin_with_the_payment_and_user(
    admin: TelegramUser,
    chats: httpx.AsyncClient,
    yookassa: BackgroundServer,
    services: tuple[str, str, Program],
    worker: Program,
    db: Database[Document],
) -> None:
    ingest, _, alerting = services
    buyer = 520040
    await started(chats, db, worker, buyer)
    async with httpx.AsyncClient(base_url=ingest, timeout=10) as client:
        ordered = await client.post(
            "/payments",
            json={"telegram_id": buyer, "plan": "month_1", "order_id": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {PAYMENTS_TOKEN}"},
        )
    assert ordered.status_code == 201, ordered.text
    payment_id = str(ordered.json()["payment_id"])
    async with httpx.AsyncClient(base_url=yookassa.url, timeout=30) as shop:
        answer = await shop.post(
            f"/emulator/payments/{payment_id}/cancel",
            params={"wait": "true", "reason": "insufficient_funds"},
        )
    assert answer.status_code == 200, answer.text
    alert = notified(
        "notice_payment_canceled_alert",
        payment_id=f"yookassa:{payment_id}",
        telegram_id=buyer,
        reason="insufficient_funds",
    )
    await told(admin, alert, alerting)
    assert user_doc(db, buyer).get("purchases", 0) == 0
