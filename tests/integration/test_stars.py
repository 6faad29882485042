"""Paying in Telegram Stars, all real: the user pays the bot's invoice in the Telegram
emulator, the bot publishes the payment, the subscription worker extends access, the
provisioner enables the key on two real nodes; an admin refunds through the bot and the
time goes back. A payment reported twice credits once; a refund asked twice refunds once.
A payment whose update the bot never handled is read back from Telegram's Star
transactions when the bot starts again, and credited once.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.measure import Agent, NodeWatcher
from bench.stars_journey import stars_journey
from bench.targets import stars_to_key
from emulators.serving import BackgroundServer
from events import Envelope, Event, payments, subscriptions
from events.payments import PaymentSucceeded, RefundSucceeded
from events.registry import TopicNames
from events.subscriptions import SubscriptionExtended
from events.users import UserView
from keyland.kafka.topics import wait_until_visible
from keyland.settings import KafkaSettings, MongoSettings
from keyland.telegram.client import make_bot
from keyland_tools.stack.node import Node
from services.bot.adapters.star_ledger import PAGE, StarLedger
from services.bot.entrypoints.stars_ledger import reconcile_now
from services.bot.keyboards.callbacks import AdminMenu, AdminTool, BuyStars, HeldDecision
from services.bot.locales import text
from services.subscription.domain.state import key_id_for
from tests.bot_harness import PollingBot, admin_bot
from tests.kafka_tail import read_topic
from tests.notifier_harness import BOT, BOT_TOKEN, notifier, telegram
from tests.processes import Program
from tests.provisioning import keys_on, node_tokens, running_nodes, write_countries
from tests.services import read_api
from tests.telegram_chat import Message, TelegramUser, callback_data, text_of
from tests.waiting import eventually

pytestmark = pytest.mark.integration

READ_TOKEN = "stars-read-token"
ADMIN = 530001
PLAN, STARS = "month_1", 150
_ids = itertools.count(random.randrange(10**9, 2 * 10**9, 10**6))


def says(key: str, **values: Any) -> str:
    return text(key, "ru", **values)


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundServer]:
    with telegram() as server:
        yield server


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    with running_nodes(tmp_path_factory.mktemp("nodes"), ("finland", "germany")) as made:
        yield made


@pytest.fixture(scope="module")
def countries(tmp_path_factory: pytest.TempPathFactory, nodes: list[Node]) -> Path:
    path = tmp_path_factory.mktemp("countries") / "countries.json"
    write_countries(path, nodes)
    return path


@pytest.fixture(scope="module")
async def provisioner(
    service_env: dict[str, str],
    isolation: str,
    kafka_settings: KafkaSettings,
    created_topics: TopicNames,
    nodes: list[Node],
    countries: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Program]:
    names = [created_topics(base) for base in ("subscriptions", "bot.actions", "keys")]
    await wait_until_visible(kafka_settings.bootstrap, names)
    state = tmp_path_factory.mktemp("provisioner")
    env = {
        **service_env,
        "KEYLAND_PROVISIONER_APP_ID": f"{isolation}-provisioner",
        "KEYLAND_PROVISIONER_DATA_DIR": str(state / "data"),
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
        "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(nodes),
        "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S": "1",
        "KEYLAND_PROVISIONER_RETRY_MAX_S": "1",
        "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET": "stars-subscription-secret-0123456789abcdef",
        "KEYLAND_PROVISIONER_API_TOKEN": "stars-provisioner-token",
    }
    program = Program("services.provisioner", env, state / "provisioner.log", args=["worker"])
    program.start()
    yield program
    program.stop()


@pytest.fixture(scope="module")
def api(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with read_api(service_env, tmp_path_factory.mktemp("api"), READ_TOKEN) as url:
        yield url


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


@pytest.fixture(scope="module")
async def chats(emulator: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=70) as client:
        yield client


class Stack:
    """What a test plays and reads: the emulator's users, the read API, the workers."""

    def __init__(
        self,
        chats: httpx.AsyncClient,
        api: str,
        bot: PollingBot,
        programs: list[Program],
        kafka: KafkaSettings,
        topics: TopicNames,
    ) -> None:
        self.chats, self.api, self.bot, self.programs = chats, api, bot, programs
        self.kafka, self.topics = kafka, topics

    def user(self, telegram_id: int) -> UserView | None:
        answer = httpx.get(
            f"{self.api}/v1/users/{telegram_id}",
            headers={"Authorization": f"Bearer {READ_TOKEN}"},
            timeout=10,
        )
        return UserView.model_validate_json(answer.content) if answer.status_code == 200 else None

    async def until(self, check: Any) -> None:
        await eventually(check, *self.programs)

    async def started(self, telegram_id: int) -> TelegramUser:
        someone = TelegramUser(self.chats, BOT, telegram_id)
        await someone.catch_up()
        await someone.ask("/start")
        await self.until(lambda: (found := self.user(telegram_id)) is not None and found.registered)
        return someone

    async def invoice(self, someone: TelegramUser, plan: str = PLAN) -> Message:
        """The user opens the plans and taps the plan's Stars button: the invoice."""
        [plans] = await someone.ask("/buy")
        await someone.press(plans, BuyStars(plan=plan).pack())
        return await someone.reply()

    async def check_out(self, someone: TelegramUser, terms: dict[str, Any]) -> dict[str, Any]:
        """The user presses Pay; the bot's answer to the pre-checkout query."""
        base = f"/emulator/bots/{BOT}/pre-checkout-queries"
        asked = await self.chats.post(base, json={"user_id": someone.id, **terms})
        assert asked.status_code == 200, asked.text
        query_id = asked.json()["pre_checkout_query_id"]
        answer = await self.chats.get(f"{base}/{query_id}", params={"timeout": 10})
        assert answer.status_code == 200, answer.text
        return {"id": query_id, **answer.json()["answer"]}

    async def pay(self, someone: TelegramUser) -> tuple[str, dict[str, Any]]:
        """The user pays a fresh invoice for the month: the charge id and its update."""
        invoice = await self.invoice(someone)
        answer = await self.check_out(someone, {"message_id": invoice["message_id"]})
        assert answer["ok"] is True, answer
        paid = await self.chats.post(
            f"/emulator/bots/{BOT}/payments",
            json={"user_id": someone.id, "pre_checkout_query_id": answer["id"]},
        )
        assert paid.status_code == 200, paid.text
        assert text_of(await someone.reply()) == says("stars_paid")
        return str(paid.json()["telegram_payment_charge_id"]), paid.json()["update"]

    async def published(
        self, kind: type[PaymentSucceeded | RefundSucceeded], charge_id: str, count: int
    ) -> list[Envelope[Event]]:
        """The ``kind`` events of ``charge_id`` on the payments topic, once ``count`` are."""

        def of_charge(found: list[Envelope[Event]]) -> list[Envelope[Event]]:
            return [
                e
                for e in found
                if isinstance(e.payload, kind) and e.payload.payment_id == charge_id
            ]

        found = await read_topic(
            self.kafka.bootstrap,
            self.topics(payments.TOPIC),
            until=lambda got: len(of_charge(got)) >= count,
        )
        assert len(of_charge(found)) == count
        return of_charge(found)

    async def charges(self) -> dict[str, dict[str, Any]]:
        found = await self.chats.get(f"/emulator/bots/{BOT}/payments")
        return {item["id"]: item for item in found.json()["items"]}


@pytest.fixture
def stack(
    chats: httpx.AsyncClient,
    api: str,
    bot: PollingBot,
    worker: Program,
    provisioner: Program,
    kafka_settings: KafkaSettings,
    created_topics: TopicNames,
) -> Stack:
    return Stack(chats, api, bot, [worker, provisioner], kafka_settings, created_topics)


async def test_a_stars_payment_extends_access_and_enables_the_key_on_both_nodes(
    stack: Stack, nodes: list[Node]
) -> None:
    someone = await stack.started(next(_ids))
    invoice = await stack.invoice(someone)
    assert invoice["invoice"]["currency"] == "XTR"
    assert invoice["invoice"]["total_amount"] == STARS
    before = datetime.now(UTC)

    charge_id, _ = await stack.pay(someone)

    await stack.until(lambda: (stack.user(someone.id) or UserView(telegram_id=1)).purchases == 1)
    account = stack.user(someone.id)
    assert account is not None
    assert account.until is not None
    assert account.until >= before + timedelta(days=28)
    key = str(account.key_id)
    await stack.until(lambda: all(key in keys_on(node) for node in nodes))

    # Paid moments after the /start, it is still the user's first purchase after it.
    def extensions(found: list[Envelope[Event]]) -> list[SubscriptionExtended]:
        return [
            e.payload
            for e in found
            if isinstance(e.payload, SubscriptionExtended) and e.payload.telegram_id == someone.id
        ]

    topic = stack.topics(subscriptions.TOPIC)
    found = await read_topic(stack.kafka.bootstrap, topic, until=lambda got: bool(extensions(got)))
    [extended] = extensions(found)
    assert (extended.payment_id, extended.first_purchase) == (f"telegram_stars:{charge_id}", True)


async def test_a_payment_reported_again_credits_once(stack: Stack) -> None:
    someone = await stack.started(next(_ids))
    charge_id, update = await stack.pay(someone)
    await stack.until(lambda: (stack.user(someone.id) or UserView(telegram_id=1)).purchases == 1)
    first = stack.user(someone.id)
    assert first is not None
    assert first.until is not None
    container = stack.bot.container
    assert container is not None
    # The same update again (polling lost its confirmation), and the same payment in
    # another update (Telegram reporting it twice).
    again = {**update, "update_id": update["update_id"] + 10_000}
    again["message"] = {**update["message"], "message_id": update["message"]["message_id"] + 1}
    for copy in (update, again):
        await container.dispatcher.feed_raw_update(container.bot, copy)
    assert [text_of(m) for m in await someone.expect(2)] == [says("stars_paid")] * 2
    published = await stack.published(PaymentSucceeded, charge_id, count=3)
    assert len({envelope.event_id for envelope in published}) == 1

    await credited_once_more(stack, someone, first)
    assert charge_id in await stack.charges()


async def credited_once_more(stack: Stack, someone: TelegramUser, before: UserView) -> None:
    """Another payment comes after every copy of the first in the user's partition: once
    it is credited, the copies were seen, and nothing but the two payments counts."""
    await stack.pay(someone)
    await stack.until(lambda: (stack.user(someone.id) or UserView(telegram_id=1)).purchases >= 2)
    account = stack.user(someone.id)
    assert account is not None
    assert account.purchases == 2
    assert account.until is not None
    assert before.until is not None
    assert account.until <= before.until + timedelta(days=31)


async def test_a_payment_whose_update_was_lost_is_credited_once_when_the_bot_starts_again(
    stack: Stack, nodes: list[Node]
) -> None:
    someone = await stack.started(next(_ids))
    invoice = await stack.invoice(someone)
    answer = await stack.check_out(someone, {"message_id": invoice["message_id"]})
    await stack.bot.stop()
    try:
        paid = await stack.chats.post(
            f"/emulator/bots/{BOT}/payments",
            json={"user_id": someone.id, "pre_checkout_query_id": answer["id"]},
        )
        assert paid.status_code == 200, paid.text
        charge_id = paid.json()["telegram_payment_charge_id"]
        # Polling confirmed the update (as aiogram does before handling it), and the bot
        # stopped before handling it: Telegram will not deliver it again.
        update_id = paid.json()["update"]["update_id"]
        confirmed = await stack.chats.post(
            f"/bot{BOT_TOKEN}/getUpdates", json={"offset": update_id + 1, "timeout": 0}
        )
        assert confirmed.json() == {"ok": True, "result": []}
    finally:
        await stack.bot.start()

    await stack.until(lambda: (stack.user(someone.id) or UserView(telegram_id=1)).purchases == 1)
    account = stack.user(someone.id)
    assert account is not None
    key = str(account.key_id)
    await stack.until(lambda: all(key in keys_on(node) for node in nodes))
    await stack.bot.restart()  # read back again, by a process that did not publish it
    published = await stack.published(PaymentSucceeded, charge_id, count=2)
    assert len({envelope.event_id for envelope in published}) == 1
    await credited_once_more(stack, someone, account)


async def test_a_handled_payment_read_back_again_credits_once(stack: Stack) -> None:
    someone = await stack.started(next(_ids))
    charge_id, _ = await stack.pay(someone)
    await stack.until(lambda: (stack.user(someone.id) or UserView(telegram_id=1)).purchases == 1)
    first = stack.user(someone.id)
    assert first is not None
    container = stack.bot.container
    assert container is not None
    assert await reconcile_now(container) == 0  # this process published it

    await stack.bot.restart()

    published = await stack.published(PaymentSucceeded, charge_id, count=2)
    assert len({envelope.event_id for envelope in published}) == 1
    await credited_once_more(stack, someone, first)


async def test_a_refund_whose_update_was_lost_takes_the_time_back_when_the_bot_starts_again(
    stack: Stack, nodes: list[Node]
) -> None:
    someone = await stack.started(next(_ids))
    charge_id, _ = await stack.pay(someone)
    await stack.until(lambda: (stack.user(someone.id) or UserView(telegram_id=1)).purchases == 1)
    account = stack.user(someone.id)
    assert account is not None
    key = str(account.key_id)
    await stack.until(lambda: all(key in keys_on(node) for node in nodes))
    await stack.bot.stop()
    try:  # refunded on Telegram's side while the bot is down; its update confirmed, lost
        refund = await stack.chats.post(
            f"/bot{BOT_TOKEN}/refundStarPayment",
            json={"user_id": someone.id, "telegram_payment_charge_id": charge_id},
        )
        assert refund.json()["ok"] is True
        confirmed = await stack.chats.post(
            f"/bot{BOT_TOKEN}/getUpdates", json={"offset": -1, "timeout": 0}
        )
        [last] = confirmed.json()["result"]
        assert last["message"]["refunded_payment"]["telegram_payment_charge_id"] == charge_id
        confirmed = await stack.chats.post(
            f"/bot{BOT_TOKEN}/getUpdates", json={"offset": last["update_id"] + 1, "timeout": 0}
        )
        assert confirmed.json() == {"ok": True, "result": []}
    finally:
        await stack.bot.start()

    def taken_back() -> bool:
        found = stack.user(someone.id)
        return found is not None and found.until is not None and found.until <= datetime.now(UTC)

    await stack.until(taken_back)
    await stack.until(lambda: not any(key in keys_on(node) for node in nodes))
    [published] = await stack.published(RefundSucceeded, charge_id, count=1)
    assert isinstance(published.payload, RefundSucceeded)
    assert published.payload.telegram_id == someone.id


async def test_the_star_transactions_are_read_page_by_page_back_to_the_lookback() -> None:
    with telegram() as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as control:
            user = {"id": 4242, "first_name": "Ann"}
            said = await control.post(
                f"/emulator/bots/{BOT}/messages", json={"user": user, "text": "hi"}
            )
            assert said.status_code == 200, said.text
            before = datetime.now(UTC) - timedelta(seconds=1)
            charges = set()
            for n in range(2 * PAGE + 5):
                paid = await control.post(
                    f"/emulator/bots/{BOT}/payments",
                    json={
                        "user_id": user["id"],
                        "currency": "XTR",
                        "total_amount": n + 1,
                        "invoice_payload": f"stars:{PLAN}:{STARS}:{user['id']}",
                    },
                )
                charges.add(paid.json()["telegram_payment_charge_id"])
            refund = await control.post(
                f"/bot{BOT_TOKEN}/refundStarPayment",
                json={"user_id": user["id"], "telegram_payment_charge_id": min(charges)},
            )
            assert refund.json()["ok"] is True
        bot = make_bot(BOT_TOKEN, server.url)
        try:
            ledger = StarLedger(bot)
            moves = await ledger.moves_since(before)
            nothing_yet = await ledger.moves_since(datetime.now(UTC) + timedelta(hours=1))
        finally:
            await bot.session.close()

    everything = moves.payments
    assert {payment.charge_id for payment in everything} == charges
    assert len(everything) == len(charges)  # the refund is no payment
    assert [p.total for p in everything] == list(range(2 * PAGE + 5, 0, -1))  # newest first
    assert {p.payer_id for p in everything} == {user["id"]}
    [refunded] = moves.refunds
    assert (refunded.payment_id, refunded.telegram_id) == (min(charges), user["id"])
    assert (nothing_yet.payments, nothing_yet.refunds) == ([], [])


async def test_a_changed_price_is_refused_at_checkout(stack: Stack) -> None:
    someone = await stack.started(next(_ids))
    payload = f"stars:{PLAN}:{STARS - 1}:{someone.id}"
    answer = await stack.check_out(
        someone, {"currency": "XTR", "total_amount": STARS - 1, "invoice_payload": payload}
    )
    assert answer["ok"] is False
    assert answer["error_message"] == says("stars_checkout_refused")
    other = await stack.check_out(
        someone,
        {"currency": "XTR", "total_amount": STARS, "invoice_payload": f"stars:{PLAN}:{STARS}:7"},
    )
    assert other["ok"] is False


async def test_an_admin_refund_gives_the_stars_back_once_and_takes_the_time_back(
    stack: Stack, nodes: list[Node]
) -> None:
    someone = await stack.started(next(_ids))
    admin = await admin_of(stack)
    charge_id, _ = await stack.pay(someone)
    await stack.until(lambda: (stack.user(someone.id) or UserView(telegram_id=1)).purchases == 1)
    account = stack.user(someone.id)
    assert account is not None
    key = str(account.key_id)
    await stack.until(lambda: all(key in keys_on(node) for node in nodes))

    refunded = says(
        "admin_stars_refunded", telegram_id=someone.id, charge_id=charge_id, amount=STARS
    )
    for _ in range(2):  # asked twice
        [answer] = await admin.ask(f"/refund_stars {someone.id} {charge_id}")
        assert text_of(answer) == refunded

    assert (await stack.charges())[charge_id]["refunded"] is True
    # Both commands and Telegram's refund notice published the refund, as one event.
    published = await stack.published(RefundSucceeded, charge_id, count=3)
    assert len({envelope.event_id for envelope in published}) == 1
    chat = await stack.chats.get(f"/emulator/bots/{BOT}/chats/{someone.id}/messages")
    notices = [m for m in chat.json()["messages"] if "refunded_payment" in (m["service"] or {})]
    assert len(notices) == 1

    def taken_back() -> bool:
        found = stack.user(someone.id)
        return found is not None and found.until is not None and found.until <= datetime.now(UTC)

    await stack.until(taken_back)
    await stack.until(lambda: not any(key in keys_on(node) for node in nodes))


async def test_a_refund_of_an_unknown_payment_refunds_nothing(stack: Stack) -> None:
    someone = await stack.started(next(_ids))
    admin = await admin_of(stack)
    [answer] = await admin.ask(f"/refund_stars {someone.id} stxKnothing")
    assert text_of(answer) == says(
        "admin_stars_unknown", telegram_id=someone.id, charge_id="stxKnothing"
    )
    [usage] = await admin.ask("/refund_stars nobody")
    assert text_of(usage) == says("admin_stars_usage")


def held(stack: Stack, telegram_id: int | None = None) -> list[dict[str, Any]]:
    """Held payments the read API lists (of ``telegram_id`` when given)."""
    answer = httpx.get(
        f"{stack.api}/v1/payments/held",
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
        timeout=10,
    )
    found: list[dict[str, Any]] = answer.json()["payments"]
    return [p for p in found if telegram_id in (None, p["telegram_id"])]


async def pay_off_invoice(stack: Stack, someone: TelegramUser, charge_id: str) -> None:
    """The user pays terms no invoice of ours had (the price changed under the invoice)."""
    paid = await stack.chats.post(
        f"/emulator/bots/{BOT}/payments",
        json={
            "user_id": someone.id,
            "currency": "XTR",
            "total_amount": STARS - 1,
            "invoice_payload": f"stars:{PLAN}:{STARS}:{someone.id}",
            "telegram_payment_charge_id": charge_id,
        },
    )
    assert paid.status_code == 200, paid.text
    assert text_of(await someone.reply()) == says("stars_held")


async def admin_of(stack: Stack) -> TelegramUser:
    if stack.user(ADMIN) is None:
        return await stack.started(ADMIN)
    admin = TelegramUser(stack.chats, BOT, ADMIN)
    await admin.catch_up()
    return admin


async def held_card(stack: Stack, admin: TelegramUser, charge_id: str) -> Message:
    count = len(held(stack))
    [panel] = await admin.ask("/admin")
    await admin.press(panel, AdminMenu(tool=AdminTool.HELD).pack())
    assert text_of(await admin.reply()) == says("admin_held_title", n=count)
    [card] = [c for c in await admin.expect(count) if charge_id in text_of(c)]
    return card


async def test_a_payment_off_its_invoice_is_held_and_refunded_from_its_card(
    stack: Stack,
) -> None:
    someone = await stack.started(next(_ids))
    charge_id = f"stxKheld{someone.id}"
    await pay_off_invoice(stack, someone, charge_id)
    await stack.until(lambda: bool(held(stack, someone.id)))
    [payment] = held(stack, someone.id)
    assert (payment["provider"], payment["payment_id"], payment["reason"]) == (
        "telegram_stars",
        charge_id,
        "amount_mismatch",
    )
    admin = await admin_of(stack)
    card = await held_card(stack, admin, charge_id)
    await admin.press(card, HeldDecision(payment_id=charge_id, grant=False).pack())
    assert text_of(await admin.reply()) == says(
        "admin_stars_refunded", telegram_id=someone.id, charge_id=charge_id, amount=STARS - 1
    )
    assert (await stack.charges())[charge_id]["refunded"] is True
    await stack.until(lambda: not held(stack, someone.id))
    account = stack.user(someone.id)
    assert account is not None
    assert (account.purchases, account.until) == (0, None)


async def test_a_held_payment_whose_id_fits_no_button_names_the_refund_command(
    stack: Stack,
) -> None:
    someone = await stack.started(next(_ids))
    charge_id = "stxK" + "L" * 100
    await pay_off_invoice(stack, someone, charge_id)
    await stack.until(lambda: bool(held(stack, someone.id)))
    card = await held_card(stack, await admin_of(stack), charge_id)
    assert not card.get("buttons")
    assert says("admin_held_stars_refund", telegram_id=someone.id, charge_id=charge_id) in (
        text_of(card)
    )


@pytest.fixture
def notices(
    service_env: dict[str, str],
    emulator: BackgroundServer,
    countries: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Program]:
    """The notifier, only for the last test: it writes in users' chats, where the tests
    above expect the bot's answers alone."""
    logs = tmp_path_factory.mktemp("notifier")
    program = notifier(service_env, emulator, logs, countries_file=str(countries)).start()
    yield program
    program.stop()


async def test_after_a_stars_payment_the_pipeline_goes_on_as_after_any_payment(
    stack: Stack, notices: Program
) -> None:
    referrer = await stack.started(next(_ids))
    friend = TelegramUser(stack.chats, BOT, next(_ids))
    await friend.ask(f"/start ref_{referrer.id}")
    await stack.until(lambda: (found := stack.user(friend.id)) is not None and found.registered)

    await stack.pay(friend)

    def earned() -> bool:
        found = stack.user(referrer.id)
        return found is not None and found.referral_days_earned == 10

    await stack.until(earned)

    async def asked_for_a_region() -> bool:
        messages = await friend.bot_messages(0, 0)
        return any(data.startswith("region:") for m in messages for data in callback_data(m))

    for _ in range(300):
        if await asked_for_a_region():
            break
        assert notices.process is not None
        assert notices.process.poll() is None, notices.log()
        await asyncio.sleep(0.2)
    assert await asked_for_a_region()


async def test_the_benchs_stars_journey_measures_every_payment_to_its_key_and_message(
    stack: Stack, nodes: list[Node], notices: Program, service_env: dict[str, str]
) -> None:
    """The bench's Stars journey, at three users, against this module's own bot and
    workers (the bench runs it at 100 against the local stack)."""
    users = {}
    for _ in range(3):
        someone = await stack.started(next(_ids))
        users[someone.id] = someone
    secret = service_env["KEYLAND_SUBSCRIPTION_KEY_SECRET"].encode()
    keys = {telegram_id: str(key_id_for(telegram_id, 0, secret)) for telegram_id in users}
    agents = [
        Agent(node.name, node.url, node.agent.environment["KEYLAND_NODE_TOKEN"]) for node in nodes
    ]
    async with httpx.AsyncClient(timeout=30) as client, NodeWatcher(client, agents) as watcher:
        marks = await stars_journey(users, keys, watcher, time.monotonic() + 120)

    assert all({"paid", "usable", "messaged"} <= set(mark) for mark in marks.values()), marks
    assert all(mark["paid"] < mark["usable"] for mark in marks.values())
    [row] = stars_to_key(marks, marks)
    assert row.met is True
    for telegram_id in users:
        account = stack.user(telegram_id)
        assert account is not None
        assert account.purchases == 1
