"""The dead-node drill: one node's Xray and agent stopped for a minute while 50 users pay.

Real subscription, provisioner and notifier workers, two real nodes, the Telegram
emulator. Half the users chose the stopped node's country. Their keys must work on the
other node at once; the stopped node must hold every key within 10 s of its return; each
user of its country is told once that it is down and once that it is back, within the
outage threshold + 30 s, and nobody else is told.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal

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
from keyland_tools.stack.node import Node
from keyland_tools.stack.vless_client import PAGE, PageServer, VlessClient
from tests.notifier_harness import BOT, notifier, telegram
from tests.processes import Program
from tests.provisioning import address, keys_on, new_node, node_tokens, write_countries
from tests.telegram_chat import TelegramUser
from tests.user_docs import user_doc
from tests.waiting import eventually

USERS = range(9501, 9551)  # 50: the even ones chose germany, the node that goes down
ADMIN = 9500
THRESHOLD_S = 10
DOWN_FOR_S = 60
DOWN_TEXT, BACK_TEXT = "server is not answering", "server works again"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
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
def stack(
    service_env: dict[str, str],
    created_topics: TopicNames,
    isolation: str,
    nodes: dict[str, Node],
    tg: BackgroundServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Program]]:
    logs = tmp_path_factory.mktemp("drill")
    countries = logs / "countries.json"
    write_countries(countries, list(nodes.values()))
    env = {
        **service_env,
        "KEYLAND_PROVISIONER_APP_ID": f"{isolation}-provisioner",
        "KEYLAND_PROVISIONER_DATA_DIR": str(logs / "provisioner"),
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
        "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(list(nodes.values())),
        "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S": "1",
        "KEYLAND_PROVISIONER_RETRY_MAX_S": "1",
        "KEYLAND_PROVISIONER_OUTAGE_GRACE_S": str(THRESHOLD_S),
        "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET": "drill-subscription-secret-32-chars-long",
    }
    programs = {
        "subscription": Program(
            "services.subscription", env, logs / "subscription.log", args=["worker"]
        ),
        "provisioner": Program(
            "services.provisioner", env, logs / "provisioner.log", args=["worker"]
        ),
        "notifier": notifier(env, tg, logs, countries_file=str(countries), alert_ids=f"[{ADMIN}]"),
    }
    try:
        for program in programs.values():
            program.start()
        yield programs
    finally:
        for program in reversed(programs.values()):
            program.stop()


@pytest.fixture
async def chats(tg: BackgroundServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=tg.url, timeout=90) as client:
        yield client


def payment(telegram_id: int, at: datetime) -> Envelope[Event]:
    event = PaymentSucceeded(
        telegram_id=telegram_id, payment_id=f"drill-{telegram_id}", plan="day", months=0, days=30,
        amount=Decimal("10.00"), currency="RUB", paid_at=at,
    )  # fmt: skip
    event_id = external_event_id("yookassa", event.payment_id, event.event_type)
    return Envelope.new(event, producer="tests", occurred_at=at, event_id=event_id)


def region_of(telegram_id: int) -> str:
    return "germany" if telegram_id % 2 == 0 else "finland"


async def told(user: TelegramUser, words: str) -> int:
    return sum(words in str(m.get("text")) for m in await user.bot_messages())


async def test_a_node_stopped_for_a_minute_while_fifty_users_pay(
    stack: dict[str, Program],
    nodes: dict[str, Node],
    publisher: EventPublisher,
    chats: httpx.AsyncClient,
    db: Database[Document],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    finland, germany = nodes["finland"], nodes["germany"]
    users = {t: TelegramUser(chats, BOT, t, username=f"d{t}", language_code="en") for t in USERS}
    admin = TelegramUser(chats, BOT, ADMIN, username="drill_admin", language_code="en")
    for person in [*users.values(), admin]:
        await person.send("/start")
    now = datetime.now(UTC)
    for t in USERS:
        started = UserStarted(telegram_id=t, language_code="en")
        await publisher.publish(Envelope.new(started, producer="tests", occurred_at=now))
        chosen = RegionChosen(telegram_id=t, region=region_of(t))
        await publisher.publish(Envelope.new(chosen, producer="tests", occurred_at=now))
    await eventually(lambda: all(user_doc(db, t).get("key_id") for t in USERS), timeout_s=60)
    key = {t: str(user_doc(db, t)["key_id"]) for t in USERS}

    germany.stop()
    stopped = time.monotonic()
    for t in USERS:
        await publisher.publish(payment(t, datetime.now(UTC)))
    await eventually(lambda: set(key.values()) <= keys_on(finland), *stack.values(), timeout_s=30)
    paid_on_finland_s = time.monotonic() - stopped
    links = {
        d["node"]: d["link"]
        for d in db.node_keys.find({"kind": "applied", "key_id": key[USERS[0]]})
    }
    with PageServer() as page:
        clients = tmp_path_factory.mktemp("clients")
        link = links[address(finland)]
        with VlessClient(link, finland.xray.build, clients) as vless:
            assert vless.fetch(page) == PAGE

    affected = [users[t] for t in USERS if region_of(t) == "germany"]
    others = [users[t] for t in USERS if region_of(t) == "finland"]
    for person in affected:
        await person.bot_messages(min_count=2, timeout_s=THRESHOLD_S + 30)  # paid; down
    down_notice_s = time.monotonic() - stopped
    assert down_notice_s <= THRESHOLD_S + 30
    assert [await told(p, DOWN_TEXT) for p in affected] == [1] * len(affected)

    await asyncio.sleep(max(0.0, DOWN_FOR_S - (time.monotonic() - stopped)))
    germany.start()
    returned = time.monotonic()
    await eventually(lambda: set(key.values()) <= keys_on(germany), *stack.values(), timeout_s=10)
    converged_s = time.monotonic() - returned
    for person in affected:
        await person.bot_messages(min_count=3, timeout_s=30)  # paid; down; back
    await admin.bot_messages(min_count=2, timeout_s=30)
    await asyncio.sleep(2)  # a second sending of anything would have gone out by now

    assert [await told(p, DOWN_TEXT) for p in affected] == [1] * len(affected)
    assert [await told(p, BACK_TEXT) for p in affected] == [1] * len(affected)
    assert [len(await p.bot_messages()) for p in affected] == [3] * len(affected)
    assert [len(await p.bot_messages()) for p in others] == [1] * len(others)  # paid only
    assert len(await admin.bot_messages()) == 2
    print(  # the figures, for the report (pytest -s)
        f"keys on the other node {paid_on_finland_s:.1f} s after the stop; down notices"
        f" {down_notice_s:.1f} s after it (threshold {THRESHOLD_S} s); every key back"
        f" {converged_s:.1f} s after the return"
    )
