"""The admin API through the running services: the read API publishes each order, the
subscription worker applies it, the provisioner puts the result on real nodes; the effect
is read back from the user view and the nodes' agents."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from events import Envelope
from events.bot_actions import UserStarted
from events.registry import TopicNames
from keyland.kafka.producer import EventPublisher
from keyland_tools.stack.node import Node
from tests.processes import Program
from tests.provisioning import keys_on, node_tokens, running_nodes, write_countries
from tests.services import read_api

pytestmark = pytest.mark.integration

READ_TOKEN, ADMIN_TOKEN = "admin-api-read-token", "admin-api-admin-token"
ADMIN = 530001
_users = iter(range(530100, 530200))


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    with running_nodes(tmp_path_factory.mktemp("nodes"), ("finland", "germany")) as made:
        yield made


@pytest.fixture(scope="module")
def provisioner(
    service_env: dict[str, str],
    isolation: str,
    nodes: list[Node],
    created_topics: TopicNames,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Program]:
    home = tmp_path_factory.mktemp("provisioner")
    countries = home / "countries.json"
    write_countries(countries, nodes)
    env = {
        **service_env,
        "KEYLAND_PROVISIONER_APP_ID": f"{isolation}-provisioner",
        "KEYLAND_PROVISIONER_DATA_DIR": str(home / "data"),
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
        "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(nodes),
        "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S": "1",
        "KEYLAND_PROVISIONER_RETRY_MAX_S": "1",
    }
    program = Program("services.provisioner", env, home / "worker.log", args=["worker"]).start()
    yield program
    program.stop()


@pytest.fixture(scope="module")
def api(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("api")
    extra = {"KEYLAND_SUBSCRIPTION_ADMIN_TOKEN": ADMIN_TOKEN}
    with read_api(service_env, logs, READ_TOKEN, **extra) as url:
        yield url


@pytest.fixture
async def admin(api: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Id": str(ADMIN)}
    async with httpx.AsyncClient(base_url=f"{api}/v1/admin", headers=headers, timeout=30) as c:
        yield c


@pytest.fixture
async def reader(api: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {READ_TOKEN}"}
    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=30) as client:
        yield client


async def view(reader: httpx.AsyncClient, telegram_id: int) -> dict[str, Any]:
    """The user view, ``{}`` while the API knows no such user."""
    answer = await reader.get(f"/v1/users/{telegram_id}")
    if answer.status_code == 404:
        return {}
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def until(
    check: Callable[[], Awaitable[bool]], *programs: Program, timeout_s: float = 60
) -> None:
    """Poll ``check`` until it holds; fail early if one of ``programs`` exited."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        for program in programs:
            assert program.process is not None
            assert program.process.poll() is None, program.log()[-4000:]
        assert time.monotonic() < deadline, f"timed out after {timeout_s}s"
        await asyncio.sleep(0.2)


async def started(publisher: EventPublisher, reader: httpx.AsyncClient, worker: Program) -> int:
    """A new user who sent /start, registered by the worker."""
    telegram_id = next(_users)
    event = UserStarted(telegram_id=telegram_id, first_name="U")
    await publisher.publish(Envelope.new(event, producer="tests", occurred_at=datetime.now(UTC)))

    async def registered() -> bool:
        return bool((await view(reader, telegram_id)).get("registered"))

    await until(registered, worker)
    return telegram_id


def accepted(answer: httpx.Response, command: str) -> str:
    """The event id of an order the API took."""
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["type"] == command
    return str(uuid.UUID(body["event_id"]))


def enabled_everywhere(nodes: list[Node], key_id: str) -> bool:
    return all(key_id in keys_on(node) for node in nodes)


def enabled_nowhere(nodes: list[Node], key_id: str) -> bool:
    return all(key_id not in keys_on(node) for node in nodes)


async def on_nodes(nodes: list[Node], key_id: str, *, enabled: bool) -> bool:
    return all((key_id in keys_on(node)) is enabled for node in nodes)


async def test_time_added_and_taken_shows_in_the_view_and_on_the_nodes(
    admin: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    publisher: EventPublisher,
    worker: Program,
    provisioner: Program,
    nodes: list[Node],
) -> None:
    telegram_id = await started(publisher, reader, worker)
    before = datetime.now(UTC)
    added = await admin.post(f"/users/{telegram_id}/time", json={"days": 10})
    accepted(added, "SubscriptionAdjusted")

    async def extended() -> bool:
        return (await view(reader, telegram_id)).get("until") is not None

    await until(extended, worker)
    user = await view(reader, telegram_id)
    ends = datetime.fromisoformat(user["until"])
    assert before + timedelta(days=10) <= ends < datetime.now(UTC) + timedelta(days=10)
    key_id = str(user["key_id"])
    await until(lambda: on_nodes(nodes, key_id, enabled=True), provisioner)

    taken = await admin.post(f"/users/{telegram_id}/time", json={"days": -3})
    accepted(taken, "SubscriptionAdjusted")

    async def shortened() -> bool:
        return bool((await view(reader, telegram_id))["until"] != user["until"])

    await until(shortened, worker)
    now_ends = datetime.fromisoformat((await view(reader, telegram_id))["until"])
    assert now_ends == ends - timedelta(days=3)


async def test_a_repeated_order_with_the_same_idempotency_key_applies_once(
    admin: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    publisher: EventPublisher,
    worker: Program,
) -> None:
    telegram_id = await started(publisher, reader, worker)
    path, key = f"/users/{telegram_id}/time", {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    first = accepted(await admin.post(path, json={"days": 10}, headers=key), "SubscriptionAdjusted")
    again = accepted(await admin.post(path, json={"days": 10}, headers=key), "SubscriptionAdjusted")
    assert again == first
    # A day more under another key: one user's orders are applied in order, so once this
    # one shows, the repeated one was handled before it.
    other = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    accepted(await admin.post(path, json={"days": 1}, headers=other), "SubscriptionAdjusted")
    registered = datetime.fromisoformat((await view(reader, telegram_id))["registered_at"])

    async def the_day_more_applied() -> bool:
        ends = (await view(reader, telegram_id)).get("until")
        return ends is not None and datetime.fromisoformat(ends) >= registered + timedelta(days=11)

    await until(the_day_more_applied, worker)
    ends = datetime.fromisoformat((await view(reader, telegram_id))["until"])
    assert ends < datetime.now(UTC) + timedelta(days=11)  # 11 days, not 21


async def test_delete_purges_the_user_and_their_key_on_every_node(
    admin: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    publisher: EventPublisher,
    worker: Program,
    provisioner: Program,
    nodes: list[Node],
) -> None:
    telegram_id = await started(publisher, reader, worker)
    accepted(
        await admin.post(f"/users/{telegram_id}/time", json={"days": 5}), "SubscriptionAdjusted"
    )

    async def extended() -> bool:
        return (await view(reader, telegram_id)).get("until") is not None

    await until(extended, worker)
    key_id = str((await view(reader, telegram_id))["key_id"])
    await until(lambda: on_nodes(nodes, key_id, enabled=True), provisioner)

    accepted(await admin.delete(f"/users/{telegram_id}"), "UserPurgeRequested")

    async def purged() -> bool:
        return (await view(reader, telegram_id)).get("purged_at") is not None

    await until(purged, worker)
    user = await view(reader, telegram_id)
    assert (user["registered"], user["until"], user["username"]) == (False, None, None)
    await until(lambda: on_nodes(nodes, key_id, enabled=False), provisioner)


async def test_a_created_account_waits_for_the_first_start_and_gets_its_days_from_it(
    admin: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    publisher: EventPublisher,
    worker: Program,
    provisioner: Program,
    nodes: list[Node],
) -> None:
    telegram_id = next(_users)
    created = await admin.post("/users", json={"telegram_id": telegram_id, "days": 30})
    accepted(created, "UserProvisioned")

    async def provisioned() -> bool:
        return bool((await view(reader, telegram_id)).get("grant_pending"))

    await until(provisioned, worker)
    user = await view(reader, telegram_id)
    assert (user["registered"], user["until"]) == (False, None)
    assert user["provisioned_at"] is not None

    event = UserStarted(telegram_id=telegram_id, first_name="New")
    await publisher.publish(Envelope.new(event, producer="tests", occurred_at=datetime.now(UTC)))

    async def registered() -> bool:
        return bool((await view(reader, telegram_id)).get("registered"))

    await until(registered, worker)
    user = await view(reader, telegram_id)
    assert not user["grant_pending"]
    start = datetime.fromisoformat(user["registered_at"])
    assert datetime.fromisoformat(user["until"]) == start + timedelta(days=30)
    assert user["purchases"] == 0
    await until(lambda: on_nodes(nodes, str(user["key_id"]), enabled=True), provisioner)


async def test_a_block_disables_the_key_on_every_node_until_it_is_lifted(
    admin: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    publisher: EventPublisher,
    worker: Program,
    provisioner: Program,
    nodes: list[Node],
) -> None:
    telegram_id = await started(publisher, reader, worker)
    added = await admin.post(f"/users/{telegram_id}/time", json={"days": 20})
    accepted(added, "SubscriptionAdjusted")

    async def extended() -> bool:
        return (await view(reader, telegram_id)).get("until") is not None

    await until(extended, worker)
    user = await view(reader, telegram_id)
    key_id = str(user["key_id"])
    await until(lambda: on_nodes(nodes, key_id, enabled=True), provisioner)

    accepted(await admin.put(f"/users/{telegram_id}/block"), "UserBlockRequested")

    async def blocked() -> bool:
        return bool((await view(reader, telegram_id)).get("blocked"))

    await until(blocked, worker)
    assert (await view(reader, telegram_id))["until"] == user["until"]  # time kept
    await until(lambda: on_nodes(nodes, key_id, enabled=False), provisioner)

    accepted(await admin.delete(f"/users/{telegram_id}/block"), "UserBlockRequested")

    async def lifted() -> bool:
        return not (await view(reader, telegram_id)).get("blocked")

    await until(lifted, worker)
    await until(lambda: on_nodes(nodes, key_id, enabled=True), provisioner)


async def test_writes_need_the_admin_token_and_reads_refuse_it(api: str) -> None:
    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        for token in (None, READ_TOKEN):
            headers = {"X-Admin-Id": str(ADMIN)}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            refused = await client.post("/v1/admin/users/5/time", json={"days": 1}, headers=headers)
            assert refused.status_code == 401
            assert refused.json() == {"error": "missing or wrong bearer token"}
        read = await client.get("/v1/stats", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert read.status_code == 401


async def test_bad_input_is_refused_and_publishes_nothing(
    admin: httpx.AsyncClient,
    reader: httpx.AsyncClient,
    publisher: EventPublisher,
    worker: Program,
) -> None:
    telegram_id = await started(publisher, reader, worker)
    path = f"/users/{telegram_id}/time"
    for body, status in [({"days": 1, "months": -1}, 422), ({"weeks": 1}, 422), ({}, 422)]:
        answer = await admin.post(path, json=body)
        assert answer.status_code == status, answer.text
        assert answer.json()["error"] == "invalid request"
    garbled = await admin.post(path, content=b"days=1")
    assert garbled.status_code == 400
    # A good order after the bad ones: once it shows, none of those was applied.
    accepted(await admin.post(path, json={"days": 2}), "SubscriptionAdjusted")
    registered = datetime.fromisoformat((await view(reader, telegram_id))["registered_at"])

    async def applied() -> bool:
        return (await view(reader, telegram_id)).get("until") is not None

    await until(applied, worker)
    ends = datetime.fromisoformat((await view(reader, telegram_id))["until"])
    assert registered + timedelta(days=2) <= ends < datetime.now(UTC) + timedelta(days=2)


async def test_the_served_openapi_document_is_valid(admin: httpx.AsyncClient) -> None:
    served = await admin.get("/openapi.json")
    assert served.status_code == 200
    validate(served.json())
