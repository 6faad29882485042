"""The admins' capacity view, end to end: two real nodes (agents measuring their real
Xray) and an address nobody answers on, the provisioner's API asking them and reading the
committed load run report, and the real bot in the Telegram emulator drawing it for an
admin who sends ``/capacity``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from emulators.serving import BackgroundServer
from keyland.capacity import cost_per_user
from keyland.load_run import read_report
from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.stack.node import Node
from services.bot.locales import text
from tests.bot_harness import PollingBot, admin_bot
from tests.notifier_harness import BOT, telegram
from tests.processes import Program, free_port, wait_http
from tests.provisioning import address, node_tokens, running_nodes
from tests.services import read_api
from tests.telegram_chat import TelegramUser, text_of

pytestmark = pytest.mark.integration

ADMIN = 530077
API_TOKEN = "capacity-api-token-for-tests"
READ_TOKEN = "capacity-read-token-for-tests"
PRICE = Decimal("12.00")
REPORT = Path(__file__).resolve().parents[2] / "bench" / "reports" / "capacity.json"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    with running_nodes(tmp_path_factory.mktemp("nodes"), ["finland", "germany"]) as started:
        yield started


@pytest.fixture(scope="module")
def dead() -> str:
    """An address in the countries file where no agent listens."""
    return f"127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def api(
    service_env: dict[str, str],
    nodes: list[Node],
    dead: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("capacity")
    countries = folder / "countries.json"
    listed = {"finland": [address(nodes[0])], "germany": [address(nodes[1]), dead]}
    countries.write_text(json.dumps(listed))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {
        **service_env,
        "KEYLAND_PROVISIONER_API_PORT": str(port),
        "KEYLAND_PROVISIONER_PUBLIC_URL": url,
        "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET": "capacity-secret-" + "x" * 32,
        "KEYLAND_PROVISIONER_API_TOKEN": API_TOKEN,
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
        "KEYLAND_PROVISIONER_NODE_TOKENS": json.dumps(
            {**json.loads(node_tokens(nodes)), dead: "token-of-a-node-that-is-not-there"}
        ),
        "KEYLAND_CAPACITY_REPORT": str(REPORT),
        "KEYLAND_CAPACITY_NODE_MONTHLY_PRICE": str(PRICE),
    }
    program = Program("services.provisioner", environment, folder / "api.log", args=["api"])
    program.start()
    try:
        wait_http(f"{url}/health", program)
        yield url
    finally:
        program.stop()


def view_of(api: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{api}/v1/nodes/capacity", headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=15
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


@pytest.fixture(scope="module")
def measured(api: str, nodes: list[Node]) -> dict[str, Any]:
    """The view once both agents have measured their load (every 2 s in local nodes)."""
    deadline = time.monotonic() + 30
    while True:
        view = view_of(api)
        live = {n["address"] for n in view["nodes"] if n["load"] is not None}
        if live == {address(node) for node in nodes}:
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.5)


def test_the_api_needs_the_token(api: str) -> None:
    assert httpx.get(f"{api}/v1/nodes/capacity", timeout=15).status_code == 401


def test_every_node_is_shown_with_its_load_and_the_load_runs_limit(
    measured: dict[str, Any], nodes: list[Node], dead: str
) -> None:
    report = read_report(REPORT, PRICE)
    assert report is not None
    assert measured["load_run"] == {
        "measured": True,
        "measured_at": report.measured_at,
        "machine": report.machine,
        "command": report.command,
        "monthly_price": str(PRICE),
    }
    finland, germany = (address(node) for node in nodes)
    shown = {n["address"]: n for n in measured["nodes"]}
    listed = [(n["country"], n["address"]) for n in measured["nodes"]]
    assert listed == sorted([("finland", finland), ("germany", germany), ("germany", dead)])
    assert set(shown) == {finland, germany, dead}
    for node in (finland, germany):
        load = shown[node]["load"]
        assert load["host_cpu_cores"] > 0
        assert load["host_memory_bytes"] > 0
        assert load["online_users"] == 0  # nobody connected
        assert load["connections"] == 0
        assert shown[node]["load_error"] is None
    assert shown[dead]["load"] is None
    assert shown[dead]["load_error"].startswith(f"{dead}: GET /v1/load")
    for entry in shown.values():
        measured_node = report.node(entry["country"])
        assert measured_node is not None
        held = measured_node.capacity.active_users
        assert held is not None
        assert entry["saturates_first"] == measured_node.capacity.first.resource
        assert entry["active_users_held"] == held
        assert entry["cost_per_active_user"] == str(cost_per_user(PRICE, held))
        assert entry["down"] is False


@pytest.fixture(scope="module")
def emulator() -> Iterator[BackgroundServer]:
    with telegram() as server:
        yield server


@pytest.fixture(scope="module")
def users_api(
    service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The subscription read API the bot asks about every user (its admin check)."""
    with read_api(service_env, tmp_path_factory.mktemp("read-api"), READ_TOKEN) as url:
        yield url


@pytest.fixture(scope="module")
async def bot(
    api: str,
    users_api: str,
    emulator: BackgroundServer,
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
) -> AsyncIterator[PollingBot]:
    async with admin_bot(
        emulator.url,
        ADMIN,
        (users_api, READ_TOKEN),
        kafka_settings,
        mongo_settings,
        links_url=api,
        links_token=SecretStr(API_TOKEN),
    ) as running:
        yield running


async def test_an_admin_gets_the_chart_and_a_line_per_node(
    measured: dict[str, Any],
    bot: PollingBot,
    emulator: BackgroundServer,
    nodes: list[Node],
    dead: str,
) -> None:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=70) as chats:
        admin = TelegramUser(chats, BOT, ADMIN, "Admin")
        await admin.catch_up()
        chart, details = await admin.ask("/capacity", 2)
    assert text_of(chart) == text("admin_capacity_title", "ru")
    assert (chart["photo"]["width"], chart["photo"]["height"]) == (800, 480)
    report = read_report(REPORT, PRICE)
    assert report is not None
    blocks = text_of(details).split("\n\n")
    assert blocks[0] == text(
        "admin_capacity_run",
        "ru",
        measured_at=report.measured_at,
        command=report.command,
        price=PRICE,
    )
    listed = sorted([(node.name, address(node)) for node in nodes] + [("germany", dead)])
    assert len(blocks) == 1 + len(listed)
    for block, (country, where) in zip(blocks[1:], listed, strict=True):
        head, now, limit = block.split("\n")
        assert head == text("admin_capacity_node", "ru", country=country, address=where)
        if where == dead:
            assert now.startswith(text("admin_capacity_no_load", "ru", error=f"{dead}: GET"))
        else:
            assert re.fullmatch(
                r"Сейчас: в сети 0, соединений 0, CPU \d+\.\d\d из \d+ ядер, "
                r"память \d+ МиБ, \d+\.\d\d Мбит/с",  # noqa: RUF001 - Russian
                now,
            ), now
        measured_node = report.node(country)
        assert measured_node is not None
        held = measured_node.capacity.active_users
        assert held is not None
        assert limit == text(
            "admin_capacity_limit",
            "ru",
            resource=measured_node.capacity.first.resource,
            held=held,
            cost=cost_per_user(PRICE, held),
        )
