"""The whole user journey through every real part: Telegram (emulated) → bot → Kafka →
subscription → provisioner → two real Xray nodes, YooKassa (emulated) → payments ingest,
and the notifier back to Telegram.

/start with a referral link → trial → links shown and a page fetched through a node →
buy → webhook → "choose a region" → region chosen → the referrer credited; and the
`keyland demo` journey, played on the same stack (reminder, expiry, key blocked).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.database import Database

from emulators.serving import BackgroundServer
from emulators.yookassa import DeliveryPolicy, EmulatorConfig, build_app
from events.registry import TopicNames
from keyland.mongo import Document
from keyland.settings import KafkaSettings
from keyland_tools.demo.driver import StackView
from keyland_tools.demo.journey import Journey
from keyland_tools.demo.timeline import Timeline
from keyland_tools.stack.vless_client import PAGE, PageServer, VlessClient
from services.bot.keyboards.callbacks import (
    AdminMenu,
    AdminTool,
    BuyGift,
    BuyRenewing,
    BuyStars,
    GiftPlans,
)
from services.bot.locales import text
from tests.notifier_harness import BOT, BOT_TOKEN, notifier, telegram
from tests.processes import Program, free_port, wait_http
from tests.provisioning import keys_on, new_node, node_tokens, write_countries
from tests.telegram_chat import TelegramUser
from tests.user_docs import user_doc
from tests.waiting import eventually

SHOP, SHOP_SECRET = "100500", "journey-shop-secret"
TOKENS = {name: f"{name}-token-for-the-journey-test" for name in ("read", "payments", "links")}
REFERRER, INVITEE = 8001, 8002
STARS_PAYER, RENEWER, PROMO_USER, GIFT_BUYER, GIFT_FRIEND = 8201, 8202, 8203, 8204, 8205
ADMIN, DEMO_FIRST_ID = 1, 8101


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state = tmp_path_factory.mktemp("nodes")
    made = {name: new_node(state, name) for name in ("finland", "germany")}
    try:
        for node in made.values():
            node.start()
        yield made
    finally:
        for node in made.values():
            node.stop()


@pytest.fixture(scope="module")
def tg() -> Iterator[BackgroundServer]:
    with telegram() as server:
        yield server


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {name: free_port() for name in ("ingest", "read", "links")}


@pytest.fixture(scope="module")
def yookassa(ports: dict[str, int]) -> Iterator[BackgroundServer]:
    server = BackgroundServer()
    webhook = f"http://127.0.0.1:{ports['ingest']}/webhooks/yookassa"
    config = EmulatorConfig(
        SHOP,
        SHOP_SECRET,
        server.url,
        webhook,
        delivery=DeliveryPolicy(attempts=5, base_delay_s=0.2),
    )
    server.start(build_app(config))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(
    service_env: dict[str, str],
    created_topics: TopicNames,
    isolation: str,
    nodes: dict[str, Any],
    tg: BackgroundServer,
    yookassa: BackgroundServer,
    ports: dict[str, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Program]]:
    """Every service of ours as a real process, wired as ``make up`` wires them."""
    logs = tmp_path_factory.mktemp("journey")
    countries = logs / "countries.json"
    write_countries(countries, list(nodes.values()))
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = {
        **service_env,
        "KEYLAND_SUBSCRIPTION_API_PORT": str(ports["read"]),
        "KEYLAND_SUBSCRIPTION_API_TOKEN": TOKENS["read"],
        "KEYLAND_PAYMENTS_PORT": str(ports["ingest"]),
        "KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID": SHOP,
        "KEYLAND_PAYMENTS_YOOKASSA_SECRET_KEY": SHOP_SECRET,
        "KEYLAND_PAYMENTS_YOOKASSA_API_URL": f"{yookassa.url}/v3",
        "KEYLAND_PAYMENTS_EXTRA_TRUSTED_NETWORKS": '["127.0.0.1/32"]',
        "KEYLAND_PAYMENTS_INTERNAL_TOKEN": TOKENS["payments"],
        "KEYLAND_PROVISIONER_APP_ID": f"{isolation}-provisioner",
        "KEYLAND_PROVISIONER_DATA_DIR": str(logs / "provisioner"),
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
        "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(list(nodes.values())),
        "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S": "1",
        "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET": "journey-subscription-secret-32-chars-long",
        "KEYLAND_PROVISIONER_API_TOKEN": TOKENS["links"],
        "KEYLAND_PROVISIONER_API_PORT": str(ports["links"]),
        "KEYLAND_PROVISIONER_PUBLIC_URL": url["links"],
        "KEYLAND_NOTIFIER_COUNTRIES_FILE": str(countries),
        "KEYLAND_BOT_APP_ID": f"{isolation}-bot",
        "KEYLAND_BOT_TOKEN": BOT_TOKEN,
        "KEYLAND_BOT_TELEGRAM_API_URL": tg.url,
        "KEYLAND_BOT_USERNAME": BOT,
        "KEYLAND_BOT_READ_API_URL": url["read"],
        "KEYLAND_BOT_READ_API_TOKEN": TOKENS["read"],
        "KEYLAND_BOT_PAYMENTS_URL": url["ingest"],
        "KEYLAND_BOT_PAYMENTS_TOKEN": TOKENS["payments"],
        "KEYLAND_BOT_LINKS_URL": url["links"],
        "KEYLAND_BOT_LINKS_TOKEN": TOKENS["links"],
        "KEYLAND_BOT_COUNTRIES_FILE": str(countries),
        "KEYLAND_BOT_ADMIN_IDS": str(ADMIN),
        # Automatic renewal: the worker charges through the ingest; a lead longer than a
        # month makes a renewal due as soon as a card is saved.
        "KEYLAND_SUBSCRIPTION_PAYMENTS_URL": url["ingest"],
        "KEYLAND_SUBSCRIPTION_PAYMENTS_TOKEN": TOKENS["payments"],
        "KEYLAND_SUBSCRIPTION_RENEWAL_LEAD_S": str(45 * 24 * 3600),
    }
    programs = {
        "subscription": Program(
            "services.subscription", env, logs / "subscription.log", args=["worker"]
        ),
        "read-api": Program("services.subscription", env, logs / "read-api.log", args=["api"]),
        "ingest": Program("services.payments_ingest", env, logs / "ingest.log"),
        "provisioner": Program(
            "services.provisioner", env, logs / "provisioner.log", args=["worker"]
        ),
        "links-api": Program("services.provisioner", env, logs / "links-api.log", args=["api"]),
        "notifier": notifier(env, tg, logs),
        "bot": Program("services.bot", env, logs / "bot.log"),
    }
    try:
        for program in programs.values():
            program.start()
        for name in ("read", "ingest", "links"):
            wait_http(f"{url[name]}/health", timeout_s=60)
        yield programs
    finally:
        for program in reversed(programs.values()):
            program.stop()


@pytest.fixture
async def telegram_client(tg: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=tg.url, timeout=70) as client:
        yield client


def button(message: dict[str, Any], data: str) -> bool:
    return any(b.get("callback_data") == data for row in message.get("buttons") or [] for b in row)


async def message_with(
    user: TelegramUser, predicate: Any, timeout_s: float = 60, *, after: int = 0
) -> dict[str, Any]:
    """The first bot message, from the ``after``-th on, that satisfies ``predicate``."""
    wanted = after + 1
    while True:
        messages = await user.bot_messages(min_count=wanted, timeout_s=timeout_s)
        for message in messages[after:]:
            if predicate(message):
                return message
        wanted = len(messages) + 1


async def received(user: TelegramUser) -> int:
    return len(await user.bot_messages())


async def test_referral_trial_links_traffic_payment_region_and_bonus(
    stack: dict[str, Program],
    telegram_client: httpx.AsyncClient,
    yookassa: BackgroundServer,
    nodes: dict[str, Any],
    db: Database[Document],
    tmp_path: Path,
) -> None:
    referrer = TelegramUser(telegram_client, BOT, REFERRER, first_name="Rita", language_code="en")
    invitee = TelegramUser(telegram_client, BOT, INVITEE, first_name="Ivan", language_code="en")

    await referrer.send("/start")
    await message_with(referrer, lambda m: button(m, "menu:trial"))
    # A link refers only someone the /start registered already.
    await eventually(
        lambda: user_doc(db, REFERRER).get("registered") is True, stack["subscription"]
    )
    await invitee.send(f"/start ref_{REFERRER}")
    menu = await message_with(invitee, lambda m: button(m, "menu:trial"))
    await eventually(
        lambda: user_doc(db, INVITEE).get("referrer_id") == REFERRER,
        stack["subscription"],
    )

    await invitee.press(menu, "menu:trial")
    await eventually(
        lambda: user_doc(db, INVITEE).get("trial_used") is True,
        stack["subscription"],
    )

    links: list[str] = []
    for _ in range(30):  # the keys appear on the nodes within moments of the trial
        before = await received(invitee)
        await invitee.press(menu, "menu:connect")
        shown = await message_with(invitee, lambda m: bool(m.get("text")), after=before)
        links = re.findall(r"vless://\S+", str(shown.get("text")))
        if len(links) == 2:
            break
        await asyncio.sleep(1)
    assert len(links) == 2, "links for both countries"
    finland = next(link for link in links if "finland" in link.lower())
    with PageServer() as page, VlessClient(finland, nodes["finland"].xray.build, tmp_path) as vless:
        assert vless.fetch(page) == PAGE

    await invitee.press(menu, "menu:buy")
    plans = await message_with(invitee, lambda m: button(m, "buy:month_1"))
    before = await received(invitee)
    await invitee.press(plans, "buy:month_1")
    pay = await message_with(
        invitee,
        lambda m: any("url" in b for row in m.get("buttons") or [] for b in row),
        after=before,
    )
    confirmation = next(b["url"] for row in pay["buttons"] for b in row if "url" in b)
    payment_id = confirmation.rsplit("/", 1)[-1]
    paid = await telegram_client.post(
        f"{yookassa.url}/emulator/payments/{payment_id}/pay", params={"wait": "true"}
    )
    assert paid.status_code == 200

    choose = await message_with(invitee, lambda m: button(m, "region:germany"))
    await invitee.press(choose, "region:germany")
    await eventually(
        lambda: user_doc(db, INVITEE).get("region") == "germany",
        stack["subscription"],
    )

    await eventually(
        lambda: user_doc(db, REFERRER).get("referral_days_earned") == 10,
        stack["subscription"],
    )
    bonus = await message_with(referrer, lambda m: "earned 10 days" in str(m.get("text")))
    assert "10" in str(bonus["text"])


async def test_the_demo_journey_plays_through_to_the_blocked_key(
    stack: dict[str, Program],
    tg: BackgroundServer,
    yookassa: BackgroundServer,
    ports: dict[str, int],
    nodes: dict[str, Any],
    kafka_settings: KafkaSettings,
    tmp_path: Path,
) -> None:
    view = StackView(
        telegram=f"{tg.url}/emulator/bots/{BOT}",
        yookassa=yookassa.url,
        read_api=f"http://127.0.0.1:{ports['read']}",
        read_token=TOKENS["read"],
        agents={
            name: (node.url, node.agent.environment["KEYLAND_NODE_TOKEN"])
            for name, node in nodes.items()
        },
        admin_id=ADMIN,
        kafka=kafka_settings,
        xray=nodes["finland"].xray.build,
    )
    timeline = Timeline()  # printed: pytest shows it when the test fails
    async with httpx.AsyncClient(timeout=30) as http:
        await Journey(http, view, timeline, tmp_path, DEMO_FIRST_ID).play()  # or DemoFailed
    seen = [step.what for step in timeline.steps]
    for expected in (
        "real VLESS client fetches",
        "payment extends access",
        "reminder reaches the friend",
        "SubscriptionExpired",
        "key disabled on finland, germany",
        "VLESS client refused",
        "expiry notice reaches the friend",
    ):
        assert any(expected in what for what in seen), expected


async def pay_in_stars(
    user: TelegramUser, telegram_client: httpx.AsyncClient, plan: str = "month_1"
) -> str:
    """The user opens the plans, taps the plan's Stars button, checks out and pays the
    invoice in the Telegram emulator: the charge id."""
    await user.send("/buy")
    plans = await message_with(user, lambda m: button(m, BuyStars(plan=plan).pack()))
    before = await received(user)
    await user.press(plans, BuyStars(plan=plan).pack())
    invoice = await message_with(user, lambda m: bool(m.get("invoice")), after=before)
    assert invoice["invoice"]["currency"] == "XTR"
    base = f"/emulator/bots/{BOT}/pre-checkout-queries"
    asked = await telegram_client.post(
        base, json={"user_id": user.id, "message_id": invoice["message_id"]}
    )
    query_id = asked.json()["pre_checkout_query_id"]
    answer = await telegram_client.get(f"{base}/{query_id}", params={"timeout": 10})
    assert answer.json()["answer"]["ok"] is True, answer.text
    paid = await telegram_client.post(
        f"/emulator/bots/{BOT}/payments",
        json={"user_id": user.id, "pre_checkout_query_id": query_id},
    )
    assert paid.status_code == 200, paid.text
    return str(paid.json()["telegram_payment_charge_id"])


async def test_commerce_stars(
    stack: dict[str, Program],
    telegram_client: httpx.AsyncClient,
    nodes: dict[str, Any],
    db: Database[Document],
) -> None:
    """A new user pays in Telegram Stars: the first purchase asks for the region, and the
    key works on both nodes like any payment's."""
    payer = TelegramUser(telegram_client, BOT, STARS_PAYER, first_name="Stella", language_code="en")
    await payer.send("/start")
    await message_with(payer, lambda m: button(m, "menu:trial"))
    await eventually(
        lambda: user_doc(db, STARS_PAYER).get("registered") is True, stack["subscription"]
    )

    charge_id = await pay_in_stars(payer, telegram_client)

    choose = await message_with(payer, lambda m: button(m, "region:finland"))
    await payer.press(choose, "region:finland")
    await eventually(
        lambda: user_doc(db, STARS_PAYER).get("region") == "finland", stack["subscription"]
    )
    paid = user_doc(db, STARS_PAYER)
    assert charge_id
    assert paid.get("key_id")
    await eventually(
        lambda: all(str(paid["key_id"]) in keys_on(node) for node in nodes.values()),
        stack["provisioner"],
    )


async def test_commerce_automatic_renewal(
    stack: dict[str, Program],
    telegram_client: httpx.AsyncClient,
    yookassa: BackgroundServer,
    db: Database[Document],
) -> None:
    """A user buys with "pay and renew automatically": the card is saved, the renewal is
    charged when due (at once here, see the stack's lead) and access runs two months."""
    user = TelegramUser(telegram_client, BOT, RENEWER, first_name="Rene", language_code="en")
    await user.send("/start")
    await message_with(user, lambda m: button(m, "menu:trial"))
    await eventually(lambda: user_doc(db, RENEWER).get("registered") is True, stack["subscription"])

    # The plan's pay message offers paying with the card saved to renew automatically.
    renewing = BuyRenewing(plan="month_1").pack()
    await user.send("/buy")
    plans = await message_with(user, lambda m: button(m, "buy:month_1"))
    await user.press(plans, "buy:month_1")
    offer = await message_with(user, lambda m: button(m, renewing))
    before = await received(user)
    await user.press(offer, renewing)
    pay = await message_with(
        user,
        lambda m: (
            any("url" in b for row in m.get("buttons") or [] for b in row)
            and not button(m, renewing)
        ),
        after=before,
    )
    confirmation = next(b["url"] for row in pay["buttons"] for b in row if "url" in b)
    paid = await telegram_client.post(
        f"{yookassa.url}/emulator/payments/{confirmation.rsplit('/', 1)[-1]}/pay",
        params={"wait": "true"},
    )
    assert paid.status_code == 200

    await eventually(
        lambda: user_doc(db, RENEWER).get("purchases") == 2, stack["subscription"], timeout_s=90
    )
    renewed = user_doc(db, RENEWER)
    assert renewed["auto_renewal"] is True
    assert renewed["renews_at"] is not None


async def started_user(
    telegram_client: httpx.AsyncClient,
    telegram_id: int,
    name: str,
    stack: dict[str, Program],
    db: Database[Document],
) -> TelegramUser:
    user = TelegramUser(telegram_client, BOT, telegram_id, first_name=name, language_code="en")
    await user.send("/start")
    await message_with(user, lambda m: button(m, "menu:trial"))
    await eventually(
        lambda: user_doc(db, telegram_id).get("registered") is True, stack["subscription"]
    )
    return user


async def test_commerce_promo_code_and_gift(
    stack: dict[str, Program],
    telegram_client: httpx.AsyncClient,
    yookassa: BackgroundServer,
    db: Database[Document],
) -> None:
    """An admin creates a one-use promo code in the bot and a user redeems it; a user buys
    a month as a gift and the friend who opens its link gets it, once."""
    admin = TelegramUser(telegram_client, BOT, ADMIN, first_name="Ada", language_code="en")
    await admin.send("/admin")
    panel = await message_with(admin, lambda m: button(m, AdminMenu(tool=AdminTool.PROMO).pack()))
    before = await received(admin)
    await admin.press(panel, AdminMenu(tool=AdminTool.PROMO).pack())
    prompt = text("admin_promo_prompt", "en")  # not any message: an alert may come between
    await message_with(admin, lambda m: m.get("text") == prompt, after=before)
    before = await received(admin)
    await admin.send("JOURNEY days=7 uses=1 valid=30")
    created = await message_with(
        admin, lambda m: "promo_JOURNEY" in str(m.get("text")), after=before
    )
    assert "start=promo_JOURNEY" in str(created["text"])

    redeemer = await started_user(telegram_client, PROMO_USER, "Pia", stack, db)
    await redeemer.send("/promo JOURNEY")
    await eventually(
        lambda: user_doc(db, PROMO_USER).get("until") is not None, stack["subscription"]
    )

    buyer = await started_user(telegram_client, GIFT_BUYER, "Gus", stack, db)
    await buyer.send("/buy")
    menu = await message_with(buyer, lambda m: button(m, GiftPlans().pack()))
    await buyer.press(menu, GiftPlans().pack())
    plans = await message_with(buyer, lambda m: button(m, BuyGift(plan="month_1").pack()))
    before = await received(buyer)
    await buyer.press(plans, BuyGift(plan="month_1").pack())
    bill = await message_with(buyer, lambda m: "start=gift_" in str(m.get("text")), after=before)
    found = re.search(r"start=gift_([A-Z0-9]{32})", str(bill["text"]))
    assert found is not None
    url = next(b["url"] for row in bill["buttons"] for b in row if "url" in b)
    paid = await telegram_client.post(
        f"{yookassa.url}/emulator/payments/{url.rstrip('/').rsplit('/', 1)[-1]}/pay",
        params={"wait": "true"},
    )
    assert paid.status_code == 200
    await eventually(
        lambda: (
            (db["promo_codes"].find_one({"_id": found.group(1)}) or {}).get("buyer") == GIFT_BUYER
        ),
        stack["subscription"],
    )

    friend = TelegramUser(telegram_client, BOT, GIFT_FRIEND, first_name="Fay", language_code="en")
    await friend.send(f"/start gift_{found.group(1)}")
    await eventually(
        lambda: user_doc(db, GIFT_FRIEND).get("until") is not None, stack["subscription"]
    )
    assert user_doc(db, GIFT_BUYER).get("until") is None  # the gift is not the buyer's time
