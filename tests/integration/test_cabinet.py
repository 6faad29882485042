"""The Mini App cabinet, for real: the bot sets its menu button in the Telegram emulator, a
user opens the web app there (Telegram's signed initData), and the cabinet process
(``python -m services.bot cabinet``) shows what the subscription read API and the links
API say, and starts payments through the payments ingest (YooKassa emulator) or a Stars
invoice link the bot's own pre-checkout answers. A forged, stale or missing initData is
refused with 401. The browser tests drive the same cabinet in Chromium at a phone's
viewport, in Russian and English, keeping screenshots.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr
from pymongo.database import Database
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from emulators.serving import BackgroundServer
from emulators.telegram import BotAccount, EmulatorConfig
from emulators.telegram import build_app as telegram_app
from emulators.telegram.web_apps import sign
from emulators.yookassa import DeliveryPolicy
from events import Envelope
from events.admin_commands import SubscriptionAdjusted
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.mongo import Document
from keyland.settings import KafkaSettings, MongoSettings
from keyland.web.i18n import local_moment, web_texts
from services.bot.config import BotSettings
from services.bot.domain.display import days_left
from services.bot.locales import text
from tests.bot_harness import PollingBot, links_app
from tests.browser import PhoneFactory, qr_codes
from tests.processes import Program, free_port, wait_http
from tests.services import payments_ingest, yookassa_emulator
from tests.services import read_api as read_api_running
from tests.telegram_chat import TelegramUser
from tests.user_docs import user_doc
from tests.waiting import eventually

pytestmark = pytest.mark.integration

TOKEN, BOT_USERNAME = "710101:cabinet-test-token", "keyland_cabinet_bot"
READ_TOKEN, PAYMENTS_TOKEN, LINKS_TOKEN = "cabinet-read", "cabinet-payments", "cabinet-links"
SHOP, SHOP_SECRET = "100600", "cabinet_shop_secret"
MAX_AGE_S = 600
ZONE = ZoneInfo("Europe/Moscow")  # the cabinet's default time zone
LINKS: dict[int, dict[str, Any] | None] = {}  # None: the links API fails for that user
_ids = itertools.count(random.randrange(10**9, 2 * 10**9, 10**6))


@pytest.fixture(scope="module")
def telegram() -> Iterator[BackgroundServer]:
    with BackgroundServer() as server:
        server.start(telegram_app(EmulatorConfig(bots=(BotAccount(TOKEN, BOT_USERNAME),))))
        yield server


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
    with BackgroundServer() as server:
        server.start(links_app(LINKS_TOKEN, LINKS))
        yield server.url


@pytest.fixture(scope="module")
def cabinet_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def settings(
    telegram: BackgroundServer, read_api: str, ingest: str, links: str, cabinet_port: int
) -> BotSettings:
    return BotSettings(
        token=SecretStr(TOKEN),
        telegram_api_url=telegram.url,
        username=BOT_USERNAME,
        read_api_url=read_api,
        read_api_token=SecretStr(READ_TOKEN),
        payments_url=ingest,
        payments_token=SecretStr(PAYMENTS_TOKEN),
        links_url=links,
        links_token=SecretStr(LINKS_TOKEN),
        http_timeout_s=10,
        cabinet_url=f"http://127.0.0.1:{cabinet_port}/app",
        cabinet_port=cabinet_port,
        cabinet_auth_max_age_s=MAX_AGE_S,
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
def cabinet(
    settings: BotSettings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The cabinet as its own process, configured from the environment as in production."""
    env = {
        **service_env,
        **{
            f"KEYLAND_BOT_{name.upper()}": str(value)
            for name, value in settings.model_dump(mode="json").items()
            if value is not None and name in CABINET_SETTINGS
        },
        "KEYLAND_BOT_TOKEN": TOKEN,
        "KEYLAND_BOT_READ_API_TOKEN": READ_TOKEN,
        "KEYLAND_BOT_PAYMENTS_TOKEN": PAYMENTS_TOKEN,
        "KEYLAND_BOT_LINKS_TOKEN": LINKS_TOKEN,
    }
    log = tmp_path_factory.mktemp("cabinet") / "cabinet.log"
    program = Program("services.bot", env, log, args=["cabinet"]).start()
    url = f"http://127.0.0.1:{settings.cabinet_port}"
    try:
        wait_http(f"{url}/health", program, timeout_s=90)  # aiogram's models load slowly
        yield url
    finally:
        program.stop()


CABINET_SETTINGS = {
    "telegram_api_url", "username", "read_api_url", "payments_url", "links_url",
    "http_timeout_s", "cabinet_url", "cabinet_port", "cabinet_auth_max_age_s",
}  # fmt: skip


@pytest.fixture(scope="module")
async def emulator(telegram: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=telegram.url, timeout=30) as client:
        yield client


async def customer(
    emulator: httpx.AsyncClient,
    db: Database[Document],
    worker: Program,
    language: str = "ru",
    *,
    first_name: str = "Ann",
) -> TelegramUser:
    """A new user who started the bot (registered by the worker)."""
    user = TelegramUser(emulator, BOT_USERNAME, next(_ids), first_name, language_code=language)
    await user.send("/start")
    await eventually(lambda: user_doc(db, user.id).get("registered") is True, worker)
    return user


async def grant(
    publisher: EventPublisher, db: Database[Document], worker: Program, user: int, days: int
) -> datetime:
    """An admin's days for ``user`` (negative: taken); access ends then."""
    before = user_doc(db, user).get("until")
    adjustment = SubscriptionAdjusted(telegram_id=user, months=0, days=days, admin_id=1)
    await publisher.publish(
        Envelope.new(adjustment, producer="tests", occurred_at=datetime.now(UTC))
    )
    await eventually(lambda: user_doc(db, user).get("until") not in (None, before), worker)
    until: datetime = user_doc(db, user)["until"]
    return until.replace(tzinfo=UTC) if until.tzinfo is None else until


async def open_app(emulator: httpx.AsyncClient, user: TelegramUser, **extra: Any) -> dict[str, Any]:
    """The user taps the bot's menu button: the web app's URL and initData."""
    answer = await emulator.post(
        f"/emulator/bots/{BOT_USERNAME}/web-app", json={"user_id": user.id, **extra}
    )
    assert answer.status_code == 200, answer.text
    opened: dict[str, Any] = answer.json()
    return opened


def tma(init_data: str) -> dict[str, str]:
    return {"Authorization": f"tma {init_data}"}


async def test_the_bots_menu_button_opens_the_cabinet_as_its_user(
    bot: PollingBot,
    cabinet: str,
    emulator: httpx.AsyncClient,
    db: Database[Document],
    worker: Program,
    publisher: EventPublisher,
) -> None:
    user = await customer(emulator, db, worker, "en")
    until = await grant(publisher, db, worker, user.id, 40)
    LINKS[user.id] = {
        "links": {"finland": f"vless://{user.id}@fi", "germany": f"vless://{user.id}@de"},
        "subscription_url": f"https://sub.example/sub/{user.id}",
    }

    opened = await open_app(emulator, user)
    async with httpx.AsyncClient(timeout=30) as client:
        page = await client.get(opened["url"].partition("#")[0])
        view = await client.get(f"{cabinet}/app/view", headers=tma(opened["init_data"]))

    assert opened["url"].startswith(f"{cabinet}/app#tgWebAppData=")
    assert page.status_code == 200
    assert "tgWebAppData" in page.text  # the page reads Telegram's launch data itself
    assert view.status_code == 200
    html = view.text
    assert f'data-standing="active" data-until="{until.isoformat()}"' in html
    assert web_texts().text("until_active", "en", moment=local_moment(until, ZONE)) in html
    assert text("cabinet_days_left", "en", days_left="40 days") in html
    assert f"vless://{user.id}@fi" in html
    assert f"https://t.me/{BOT_USERNAME}?start=ref_{user.id}" in html
    assert text("cabinet_no_payments", "en") in html


@pytest.mark.parametrize(
    ("days", "access", "key"),
    [(2, "ends_soon", "status_ends_soon"), (None, "never", "status_never")],
)
async def test_the_status_follows_the_end_of_access(
    bot: PollingBot,
    cabinet: str,
    emulator: httpx.AsyncClient,
    db: Database[Document],
    worker: Program,
    publisher: EventPublisher,
    days: int | None,
    access: str,
    key: str,
) -> None:
    user = await customer(emulator, db, worker)
    if days is not None:
        await grant(publisher, db, worker, user.id, days)

    opened = await open_app(emulator, user)
    async with httpx.AsyncClient(timeout=30) as client:
        view = await client.get(f"{cabinet}/app/view", headers=tma(opened["init_data"]))

    assert f'data-standing="{access}"' in view.text
    assert web_texts().text(key, "ru") in view.text
    assert text("cabinet_no_keys", "ru") in view.text


async def test_without_the_links_api_the_rest_shows_and_renewing_works(
    bot: PollingBot,
    cabinet: str,
    emulator: httpx.AsyncClient,
    db: Database[Document],
    worker: Program,
    publisher: EventPublisher,
) -> None:
    user = await customer(emulator, db, worker, "en")
    await grant(publisher, db, worker, user.id, 10)
    LINKS[user.id] = None
    opened = await open_app(emulator, user)

    async with httpx.AsyncClient(timeout=30) as client:
        view = await client.get(f"{cabinet}/app/view", headers=tma(opened["init_data"]))
        renew = await client.post(
            f"{cabinet}/app/renew", headers=tma(opened["init_data"]), json={"plan": "month_1"}
        )

    assert view.status_code == 200
    assert 'data-standing="active"' in view.text
    assert text("cabinet_unavailable", "en") in view.text
    assert 'data-renew="yookassa" data-plan="month_1"' in view.text
    assert renew.status_code == 200


async def test_renew_creates_one_yookassa_payment_per_opening(
    bot: PollingBot,
    cabinet: str,
    emulator: httpx.AsyncClient,
    db: Database[Document],
    worker: Program,
    yookassa: BackgroundServer,
) -> None:
    user = await customer(emulator, db, worker)
    opened = await open_app(emulator, user)
    order = {"plan": "month_1", "method": "yookassa"}

    async with httpx.AsyncClient(timeout=30) as client:
        first = await client.post(
            f"{cabinet}/app/renew", headers=tma(opened["init_data"]), json=order
        )
        again = await client.post(
            f"{cabinet}/app/renew", headers=tma(opened["init_data"]), json=order
        )
        payment = await client.get(
            f"{yookassa.url}/v3/payments/{first.json()['payment_id']}", auth=(SHOP, SHOP_SECRET)
        )
        unknown = await client.post(
            f"{cabinet}/app/renew", headers=tma(opened["init_data"]), json={"plan": "lifetime"}
        )
        malformed = [
            await client.post(f"{cabinet}/app/renew", headers=tma(opened["init_data"]), **body)
            for body in (
                {"content": b"{not json"},
                {"json": {"plan": "month_1", "method": "paypal"}},
                {"json": ["month_1"]},
            )
        ]

    assert first.status_code == 200, first.text
    assert first.json()["url"].startswith(yookassa.url)
    assert again.json()["payment_id"] == first.json()["payment_id"]
    assert payment.status_code == 200, payment.text
    assert payment.json()["metadata"]["telegram_id"] == str(user.id)
    assert payment.json()["amount"] == {"value": "199.00", "currency": "RUB"}
    assert unknown.status_code == 422
    assert [r.status_code for r in malformed] == [422] * 3
    assert all(r.json()["error"] == "bad order" for r in malformed)


async def test_renew_in_stars_gives_an_invoice_link_the_bot_accepts(
    bot: PollingBot,
    cabinet: str,
    emulator: httpx.AsyncClient,
    db: Database[Document],
    worker: Program,
) -> None:
    user = await customer(emulator, db, worker)
    opened = await open_app(emulator, user)

    async with httpx.AsyncClient(timeout=30) as client:
        started = await client.post(
            f"{cabinet}/app/renew",
            headers=tma(opened["init_data"]),
            json={"plan": "month_1", "method": "stars"},
        )
    link = started.json()["url"]
    query = await emulator.post(
        f"/emulator/bots/{BOT_USERNAME}/pre-checkout-queries",
        json={"user_id": user.id, "invoice_link": link},
    )
    query_id = query.json()["pre_checkout_query_id"]
    answer = await emulator.get(
        f"/emulator/bots/{BOT_USERNAME}/pre-checkout-queries/{query_id}", params={"timeout": 10}
    )

    assert started.status_code == 200, started.text
    assert link.startswith("https://t.me/$")
    pre_checkout = query.json()["update"]["pre_checkout_query"]
    assert (pre_checkout["currency"], pre_checkout["total_amount"]) == ("XTR", 150)
    assert pre_checkout["invoice_payload"] == f"stars:month_1:150:{user.id}"
    assert answer.json()["answer"] == {"ok": True, "error_message": None}


async def test_forged_stale_or_missing_init_data_is_refused(
    bot: PollingBot,
    cabinet: str,
    emulator: httpx.AsyncClient,
    db: Database[Document],
    worker: Program,
) -> None:
    user = await customer(emulator, db, worker)
    genuine = (await open_app(emulator, user))["init_data"]
    stale = (await open_app(emulator, user, auth_date=int(time.time()) - MAX_AGE_S - 5))[
        "init_data"
    ]
    fields = dict(parse_qsl(genuine))
    someone_else = fields | {"user": fields["user"].replace(str(user.id), str(user.id + 1))}
    other_bot = sign("710102:another-bot", {k: v for k, v in fields.items() if k != "hash"})
    order = {"plan": "month_1", "method": "yookassa"}

    async with httpx.AsyncClient(base_url=cabinet, timeout=30) as client:
        refused = [
            await client.get("/app/view", headers=headers)
            for headers in (
                tma(stale),
                tma(urlencode(someone_else)),
                tma(other_bot),
                tma("user=%7B%22id%22%3A1%7D"),
                {"Authorization": f"Bearer {genuine}"},
                {},
            )
        ]
        renew = await client.post("/app/renew", headers=tma(stale), json=order)
        accepted = await client.get("/app/view", headers=tma(genuine))

    assert [r.status_code for r in refused] == [401] * 6
    assert text("cabinet_refused", "ru") in refused[0].text  # no Accept-Language: Russian
    assert renew.status_code == 401
    assert accepted.status_code == 200
    assert f"ID {user.id}" in accepted.text
    assert f"ID {user.id + 1}" not in "".join(r.text for r in refused)


async def test_payments_show_in_the_cabinet(
    bot: PollingBot,
    cabinet: str,
    emulator: httpx.AsyncClient,
    db: Database[Document],
    worker: Program,
    yookassa: BackgroundServer,
) -> None:
    user = await customer(emulator, db, worker, "en")
    opened = await open_app(emulator, user)
    async with httpx.AsyncClient(timeout=30) as client:
        started = await client.post(
            f"{cabinet}/app/renew", headers=tma(opened["init_data"]), json={"plan": "month_1"}
        )
        payment_id = started.json()["payment_id"]
        paid = await client.post(
            f"{yookassa.url}/emulator/payments/{payment_id}/pay", params={"wait": "true"}
        )
        assert paid.status_code == 200, paid.text
        await eventually(lambda: user_doc(db, user.id).get("until") is not None, worker)
        view = await client.get(f"{cabinet}/app/view", headers=tma(opened["init_data"]))

    assert f'data-payment="{payment_id}"' in view.text
    assert text("cabinet_payment_credited", "en") in view.text
    assert "199.00 RUB" in view.text
    assert 'data-standing="active"' in view.text
    assert datetime.now(UTC) + timedelta(days=27) < user_doc(db, user.id)["until"].replace(
        tzinfo=UTC
    )


# --- in a real browser: Chromium at a phone's viewport ----------------------------------


@dataclass(frozen=True)
class Opened:
    """A user with 40 days left who opened the cabinet from the bot's menu button."""

    telegram_id: int
    url: str
    subscription_url: str
    stale_url: str


@pytest.fixture(scope="module")
async def opened(
    bot: PollingBot,
    cabinet: str,
    emulator: httpx.AsyncClient,
    db: Database[Document],
    worker: Program,
    kafka_settings: KafkaSettings,
    created_topics: TopicNames,
) -> dict[str, Opened]:
    publisher = EventPublisher.from_settings(kafka_settings, client_id="cabinet-tests")
    found = {}
    for language, name in (("ru", "Анна"), ("en", "Ann")):
        user = await customer(emulator, db, worker, language, first_name=name)
        await grant(publisher, db, worker, user.id, 40)
        subscription_url = f"https://vpn.example/sub/{user.id}"
        LINKS[user.id] = {
            "links": {
                "finland": f"vless://{user.id}@fi.example:443?security=reality#finland",
                "germany": f"vless://{user.id}@de.example:443?security=reality#germany",
            },
            "subscription_url": subscription_url,
        }
        stale_at = int(time.time()) - MAX_AGE_S - 60
        found[language] = Opened(
            user.id,
            (await open_app(emulator, user))["url"],
            subscription_url,
            (await open_app(emulator, user, auth_date=stale_at))["url"],
        )
    await publisher.close()
    return found


def stored_until(db: Database[Document], telegram_id: int) -> datetime:
    until: datetime = user_doc(db, telegram_id)["until"]
    return until if until.tzinfo else until.replace(tzinfo=UTC)


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_cabinet_shows_the_standing_the_database_holds(
    phone: PhoneFactory, opened: dict[str, Opened], db: Database[Document], language: str
) -> None:
    user = opened[language]
    session = phone(language)
    session.open(user.url)

    status = session.find("#status")
    until = stored_until(db, user.telegram_id)
    left = days_left(until, datetime.now(UTC))
    assert left in (39, 40)
    days = text("days_left_n", language, n=left)
    assert status.get_attribute("data-standing") == "active"
    assert status.text == web_texts().text("status_active", language)
    moment = local_moment(until, ZONE)
    assert session.text("#until") == web_texts().text("until_active", language, moment=moment)
    assert session.text("#left") == text("cabinet_days_left", language, days_left=days)
    assert session.find("#cabinet").get_attribute("data-state") == "ready"
    codes = session.driver.find_elements(By.CSS_SELECTOR, "#keys code")
    links = LINKS[user.telegram_id]
    assert links is not None
    assert [c.text for c in codes][:2] == [user.subscription_url, links["links"]["finland"]]
    assert qr_codes(session.shot("cabinet")) == [user.subscription_url]


def test_the_copy_button_copies_the_subscription_url(
    phone: PhoneFactory, opened: dict[str, Opened]
) -> None:
    user = opened["en"]
    session = phone("en")
    session.open(user.url)
    session.grant_clipboard()
    button = session.find("#keys button.copy")
    button.click()
    assert session.wait_for_text("#keys button.copy", "Copied") == "Copied ✓"
    assert session.clipboard() == user.subscription_url


def test_the_renew_button_opens_the_yookassa_payment(
    phone: PhoneFactory, opened: dict[str, Opened], yookassa: BackgroundServer
) -> None:
    user = opened["en"]
    session = phone("en")
    session.open(user.url)
    session.find('button[data-renew="yookassa"][data-plan="month_1"]').click()

    WebDriverWait(session.driver, 20).until(
        lambda driver: driver.current_url.startswith(f"{yookassa.url}/checkout/")
    )
    session.shot("payment-page")
    payment_id = session.driver.current_url.rsplit("/", 1)[1]
    payment = httpx.get(
        f"{yookassa.url}/v3/payments/{payment_id}", auth=(SHOP, SHOP_SECRET), timeout=10
    ).json()
    assert payment["metadata"]["telegram_id"] == str(user.telegram_id)
    assert payment["amount"] == {"value": "199.00", "currency": "RUB"}
    assert payment["status"] == "pending"


def test_the_stars_button_gives_a_telegram_invoice_link(
    phone: PhoneFactory, opened: dict[str, Opened]
) -> None:
    session = phone("ru")
    session.open(opened["ru"].url)
    session.find('button[data-renew="stars"][data-plan="month_1"]').click()

    shown = session.wait_for_text("#notice", "https://t.me/$")
    assert shown.startswith(text("cabinet_pay_in_telegram", "ru", link="https://t.me/$"))


@pytest.mark.parametrize("forgery", ["another_user", "stale"])
def test_a_forged_or_stale_init_data_shows_nothing_of_the_user(
    phone: PhoneFactory, opened: dict[str, Opened], forgery: str
) -> None:
    user = opened["ru"]
    if forgery == "stale":
        url = user.stale_url
    else:
        other = opened["en"].telegram_id
        url = user.url.replace(str(user.telegram_id), str(other))  # in the signed user JSON
        assert url != user.url
    session = phone("ru")
    session.open(url)

    refusal = session.find("#refused")
    assert refusal.text == text("cabinet_refused", "ru")
    assert session.find("#cabinet").get_attribute("data-state") == "refused"
    assert session.driver.find_elements(By.CSS_SELECTOR, "#status, #keys") == []
    session.shot(forgery)
