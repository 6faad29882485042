"""What the provisioner's node loops ask of the database, against real nodes and real
Kafka and FerretDB.

The worker's parts are built by its own ``bootstrap()`` and run in this process (faust
aside: the test hands events to the agent's handler itself), on a database client whose
every command is recorded. Once the loops have read their state at start, rounds must
read nothing: changes, node checks every half second, an outage and its backlog all run
on what the worker keeps in memory; only the handler's one lookup by ``_id`` per event
remains.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.database import Database

from events import Event
from events.registry import TopicNames
from keyland.mongo import UPDATES_PER_COMMAND, Document, user_document_id
from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.stack.node import Node
from services.provisioner.bootstrap import Container, bootstrap
from services.provisioner.domain.plan import plan_node
from services.provisioner.handlers import converge
from tests.nodes import agent_client
from tests.provisioning import (
    User,
    address,
    fact,
    keys_on,
    node_tokens,
    running_nodes,
    write_countries,
)
from tests.waiting import eventually

RELOAD_INTERVAL_S = 3  # where a test asks for the safety net; the others never see it


class CommandRecorder(monitoring.CommandListener):
    """Every command sent, by name, with its body."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append((event.command_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def named(self, *names: str) -> list[dict[str, Any]]:
        return [body for name, body in self.commands if name in names]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    with running_nodes(tmp_path_factory.mktemp("nodes"), ("finland", "germany")) as made:
        yield made


@pytest.fixture
async def worker(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    nodes: list[Node],
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    created_topics: TopicNames,
    tmp_path: Path,
) -> AsyncIterator[tuple[Container, CommandRecorder]]:
    countries = tmp_path / "countries.json"
    write_countries(countries, nodes)
    for name, value in {
        "KEYLAND_KAFKA_BOOTSTRAP": kafka_settings.bootstrap,
        "KEYLAND_KAFKA_TOPIC_PREFIX": kafka_settings.topic_prefix,
        "KEYLAND_MONGO_URL": mongo_settings.url,
        "KEYLAND_MONGO_DATABASE": mongo_settings.database,
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
        "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(nodes),
        "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S": "0.5",
        "KEYLAND_PROVISIONER_RELOAD_INTERVAL_S": str(getattr(request, "param", 600)),
        "KEYLAND_PROVISIONER_RETRY_MAX_S": "0.5",
        "KEYLAND_PROVISIONER_UNKNOWN_KEY_GRACE_S": "600",  # keys of other tests stay
    }.items():
        monkeypatch.setenv(name, value)
    recorder = CommandRecorder()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        mongo_settings.url, tz_aware=True, event_listeners=[recorder]
    )
    container = bootstrap(client[mongo_settings.database])
    await container.prepare_database()
    fleet = asyncio.create_task(container.fleet.run())
    try:
        yield container, recorder
    finally:
        fleet.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fleet
        await container.publisher.close()
        await container.clients.close()
        await client.close()


async def hand(container: Container, *events: Event) -> int:
    """The agent's handler applies ``events`` in order; how many it was given."""
    for event in events:
        await container.handler(fact(event))
    return len(events)


def until_in(days: float) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def on_every(keys: list[str], nodes: list[Node]) -> bool:
    return all(set(keys) <= keys_on(node) for node in nodes)


def on_none(keys: list[str], nodes: list[Node]) -> bool:
    return all(not set(keys) & keys_on(node) for node in nodes)


def filters(body: dict[str, Any]) -> list[object]:
    """The filters a command selects documents by (``find``, ``update``, ``delete``)."""
    if "filter" in body:
        return [body["filter"]]
    return [s["q"] for s in body.get("updates", []) + body.get("deletes", [])]


def by_id_only(body: dict[str, Any]) -> bool:
    """Every filter of the command is one equality on a string ``_id``."""
    return all(
        isinstance(f, dict) and list(f) == ["_id"] and isinstance(f["_id"], str)
        for f in filters(body)
    )


async def test_rounds_read_no_collection_only_the_handler_looks_up_by_id(
    worker: tuple[Container, CommandRecorder], nodes: list[Node]
) -> None:
    container, recorder = worker
    earlier = [User.new() for _ in range(10)]
    for user in earlier:
        await hand(container, user.registered(), user.trial(until_in(3)))
    await eventually(lambda: on_every([u.key for u in earlier], nodes), timeout_s=30)
    await asyncio.sleep(1)  # the start-up reads are behind us
    recorder.commands.clear()

    newcomers = [User.new() for _ in range(25)]
    handed = 0
    for user in newcomers:
        handed += await hand(container, user.registered(), user.trial(until_in(3)))
    lapsing = earlier[:4]
    for user in lapsing:
        handed += await hand(container, user.expired(until_in(3)))
    await eventually(lambda: on_every([u.key for u in newcomers], nodes), timeout_s=30)
    await eventually(lambda: on_none([u.key for u in lapsing], nodes), timeout_s=30)
    await asyncio.sleep(1.5)  # several node checks (every 0.5 s) with nothing to change

    names = {name for name, _ in recorder.commands}
    assert names <= {"find", "update", "insert"}, names
    finds = recorder.named("find")
    assert all(by_id_only(body) for body in finds), [f["filter"] for f in finds]
    assert len(finds) == handed  # the handler's lookups; the loops read nothing
    writes = recorder.named("update")
    assert all(by_id_only(body) for body in writes)
    recorded = [u["q"]["_id"] for w in writes for u in w["updates"]]
    assert len([r for r in recorded if r.startswith("applied:")]) == 2 * (25 + 4)  # once each


async def test_node_back_from_an_outage_gets_its_whole_backlog_without_reading_everything(
    worker: tuple[Container, CommandRecorder], nodes: list[Node]
) -> None:
    container, recorder = worker
    finland, germany = nodes
    await asyncio.sleep(1)
    recorder.commands.clear()
    germany.stop()
    try:
        backlog = [User.new() for _ in range(30)]
        for user in backlog:
            await hand(container, user.registered(), user.trial(until_in(3)))
        await eventually(lambda: on_every([u.key for u in backlog], [finland]), timeout_s=30)
        await asyncio.sleep(1)  # failed rounds against germany meanwhile
    finally:
        germany.start()
    await eventually(lambda: on_every([u.key for u in backlog], [germany]), timeout_s=30)
    finds = recorder.named("find")
    assert all(by_id_only(body) for body in finds), [f["filter"] for f in finds]
    # The backlog went to germany in batches, not a round per user: one agent call and
    # one bulk write in commands of a few statements (a second or third round only when
    # keys were refused while its Xray was still starting), each record written once.
    germany_writes = [
        w
        for w in recorder.named("update")
        if w["updates"][0]["q"]["_id"].startswith("applied:")
        and w["updates"][0]["q"]["_id"].endswith(f"@{address(germany)}")
    ]
    sizes = [len(w["updates"]) for w in germany_writes]
    assert all(size <= UPDATES_PER_COMMAND for size in sizes), sizes
    assert 1 <= len(sizes) <= math.ceil(len(backlog) / UPDATES_PER_COMMAND) + 2, sizes
    assert sum(len(w["updates"]) for w in germany_writes) == len(backlog)


@pytest.mark.parametrize("worker", [RELOAD_INTERVAL_S], indirect=True)
async def test_a_document_changed_behind_the_workers_back_is_followed_after_the_reload(
    worker: tuple[Container, CommandRecorder], nodes: list[Node], db: Database[Document]
) -> None:
    """The safety net: the database re-read whole every ``RELOAD_INTERVAL_S``."""
    container, _ = worker
    user = User.new()
    await hand(container, user.registered(), user.trial(until_in(3)))
    await eventually(lambda: on_every([user.key], nodes), timeout_s=30)
    edited = db.node_keys.update_one(
        {"_id": user_document_id(user.telegram_id)},
        {"$set": {"until": datetime.now(UTC) - timedelta(minutes=1)}},
    )
    assert edited.modified_count == 1
    await eventually(lambda: on_none([user.key], nodes), timeout_s=RELOAD_INTERVAL_S * 4)


def test_the_filter_check_tells_lookups_by_id_from_whole_reads() -> None:
    assert by_id_only({"filter": {"_id": "user:1"}})
    assert by_id_only({"updates": [{"q": {"_id": "applied:k@n"}}, {"q": {"_id": "node:n"}}]})
    assert not by_id_only({"filter": {"_id": {"$in": ["user:1"]}}})
    assert not by_id_only({"filter": {"kind": "user"}})
    assert not by_id_only({"updates": [{"q": {"kind": "applied", "node": "n"}}]})


async def test_an_idle_node_is_compared_again_only_once_something_moved(
    worker: tuple[Container, CommandRecorder],
    nodes: list[Node],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Node checks every half second: with nothing changed (the agents answer "same list",
    the book and records are as they were) no check compares a key, and a new user's
    check compares that user's key; a key removed on a node by hand, and an access whose
    ``until`` passed without any event, are still repaired; after a failed check, the next
    one compares every key."""
    container, _ = worker
    compared: list[int] = []

    def counted(wanted: Any, applied: Any, on_node: Any) -> Any:
        compared.append(len(wanted) + len(on_node))
        return plan_node(wanted, applied, on_node)

    monkeypatch.setattr(converge, "plan_node", counted)
    steady, lapsing = User.new(), User.new()
    others = [User.new() for _ in range(20)]
    soon = datetime.now(UTC) + timedelta(seconds=8)
    for user in [steady, *others]:
        await hand(container, user.registered(), user.trial(until_in(3)))
    await hand(container, lapsing.registered(), lapsing.trial(soon))
    everyone = [u.key for u in [steady, lapsing, *others]]
    await eventually(lambda: on_every(everyone, nodes), timeout_s=30)
    await asyncio.sleep(1.5)  # the checks that follow the changes
    compared.clear()
    await asyncio.sleep(2)  # four checks per node
    assert sum(compared) == 0  # no key compared

    newcomer = User.new()
    await hand(container, newcomer.registered(), newcomer.trial(until_in(3)))
    await eventually(lambda: on_every([newcomer.key], nodes), timeout_s=10)
    await asyncio.sleep(1)  # the checks after it
    assert 0 < max(compared) <= 2, compared  # the newcomer's key, not all 23

    finland = nodes[0]
    with agent_client(finland) as api:
        assert api.delete(f"/v1/users/{steady.key}").status_code == 200
    compared.clear()
    await eventually(lambda: on_every([steady.key], nodes), timeout_s=10)
    assert sum(compared) > 0  # the node's list changed: compared again

    await eventually(lambda: on_none([lapsing.key], nodes), timeout_s=20)
    assert datetime.now(UTC) >= soon
    assert on_every([steady.key], nodes)

    compared.clear()
    finland.stop()  # failed checks; the first one after compares every key again
    await asyncio.sleep(1)
    finland.start()
    await eventually(lambda: max(compared, default=0) >= len(everyone) + 1, timeout_s=20)
