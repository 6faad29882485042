"""The provisioner against real Kafka, the real database and real nodes (Xray + agent).

The test acts as the subscription service: it publishes the ``subscriptions`` facts and
watches what the provisioner worker (a real child process) does on two country nodes,
through the nodes' agents and a real VLESS client fetching a page from a loopback server.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import string
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from pymongo.database import Database

from events import Envelope, Event
from events.bot_actions import RegionChosen
from events.keys import (
    KeyActivated,
    KeyDeactivated,
    KeyDeleted,
    NodeLoadReported,
    NodeRecovered,
    NodeUnreachable,
)
from events.registry import TopicNames
from events.traffic import TrafficCounted
from keyland.kafka.producer import EventPublisher
from keyland.kafka.topics import wait_until_visible
from keyland.mongo import Document, user_document_id
from keyland.settings import KafkaSettings
from keyland_tools.stack.node import Node
from keyland_tools.stack.vless_client import PAGE, PageServer, VlessClient, XrayClient
from services.provisioner.domain.formats import Format, render
from services.provisioner.domain.outbound import outbound_of_link
from tests.kafka_tail import read_topic
from tests.nodes import agent_client
from tests.processes import ROOT, Program, free_port, wait_http
from tests.provisioning import (
    User,
    activations,
    address,
    fact,
    keys_on,
    new_node,
    node_tokens,
    publish,
    read_raw,
    start_trial,
    write_countries,
    write_text,
)
from tests.waiting import eventually

API_TOKEN = "provisioner-api-test-token"
SECRET = "subscription-secret-for-the-tests-0123456789"
BOT = "keyland_test_bot"
SUPPORT = "https://t.me/keyland_test_support"
ENDED = f"Access ended — renew in @{BOT}"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Node]]:
    """finland and germany are in the countries file; sweden joins it in one test."""
    state = tmp_path_factory.mktemp("nodes")
    made = {name: new_node(state, name) for name in ("finland", "germany", "sweden")}
    try:
        for node in made.values():
            node.start()
        yield made
    finally:
        for node in made.values():  # also the half-started ones
            node.stop()


@pytest.fixture(scope="module")
def countries_file(tmp_path_factory: pytest.TempPathFactory, nodes: dict[str, Node]) -> Path:
    path = tmp_path_factory.mktemp("countries") / "countries.json"
    write_countries(path, [nodes["finland"], nodes["germany"]])
    return path


@pytest.fixture(scope="module")
def env(
    service_env: dict[str, str],
    isolation: str,
    nodes: dict[str, Node],
    countries_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    return {
        **service_env,
        "KEYLAND_PROVISIONER_APP_ID": f"{isolation}-provisioner",
        "KEYLAND_PROVISIONER_DATA_DIR": str(tmp_path_factory.mktemp("provisioner")),
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries_file),
        "KEYLAND_PROVISIONER_COUNTRIES_POLL_S": "0.5",
        "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(list(nodes.values())),
        "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S": "1",
        "KEYLAND_PROVISIONER_RETRY_MAX_S": "1",
        "KEYLAND_PROVISIONER_OUTAGE_GRACE_S": "0",
        "KEYLAND_PROVISIONER_UNKNOWN_KEY_GRACE_S": "1",
        "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET": SECRET,
        "KEYLAND_PROVISIONER_API_TOKEN": API_TOKEN,
        "KEYLAND_PROVISIONER_TRAFFIC_WINDOW_S": "1",
    }


@pytest.fixture(scope="module")
async def visible_topics(kafka_settings: KafkaSettings, created_topics: TopicNames) -> TopicNames:
    names = [created_topics(base) for base in ("subscriptions", "bot.actions", "keys", "traffic")]
    await wait_until_visible(kafka_settings.bootstrap, names)
    return created_topics


@pytest.fixture(scope="module")
def worker(
    env: dict[str, str], visible_topics: TopicNames, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Program]:
    log = tmp_path_factory.mktemp("logs") / "provisioner.log"
    program = Program("services.provisioner", env, log, args=["worker"]).start()
    yield program
    program.stop()


@pytest.fixture(scope="module")
def api(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {
        **env,
        "KEYLAND_PROVISIONER_API_PORT": str(port),
        "KEYLAND_PROVISIONER_PUBLIC_URL": url,
        "KEYLAND_PROVISIONER_BOT_USERNAME": BOT,
        "KEYLAND_PROVISIONER_SUPPORT_URL": SUPPORT,
    }
    log = tmp_path_factory.mktemp("api") / "api.log"
    program = Program("services.provisioner", environment, log, args=["api"]).start()
    wait_http(f"{url}/health", program)
    yield url
    program.stop()


@pytest.fixture(scope="module")
def page() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@pytest.fixture(scope="module")
def clients_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clients")


def in_file(nodes: dict[str, Node]) -> list[Node]:
    return [nodes["finland"], nodes["germany"]]


def on_every(key: str, nodes: list[Node]) -> bool:
    return all(key in keys_on(node) for node in nodes)


def on_none(key: str, nodes: list[Node]) -> bool:
    return not any(key in keys_on(node) for node in nodes)


async def links_of(kafka: KafkaSettings, topics: TopicNames, user: User) -> dict[str, str]:
    """The link of ``user`` on each node, from the ``KeyActivated`` facts."""
    found = await activations(kafka.bootstrap, topics("keys"), user.key_id, expected=2)
    return {e.payload.node: e.payload.link for e in found}


async def get(url: str, token: str | None = None, agent: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if agent is not None:
        headers["User-Agent"] = agent
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(url, headers=headers)


async def keys_facts(
    kafka: KafkaSettings, topics: TopicNames, timeout_s: float = 2
) -> list[Envelope[Event]]:
    return await read_topic(kafka.bootstrap, topics("keys"), timeout_s=timeout_s)


def access_document(db: Database[Document], user: User) -> Document:
    return db.node_keys.find_one({"_id": user_document_id(user.telegram_id)}) or {}


def recorded(db: Database[Document], envelope: Envelope[Event]) -> bool:
    user = int(envelope.payload.partition_key())
    seen = db.node_keys.find_one({"_id": user_document_id(user)}, {"seen": 1}) or {}
    return str(envelope.event_id) in seen.get("seen", [])


async def test_trial_user_gets_a_working_key_on_every_node(
    worker: Program,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    page: PageServer,
    clients_dir: Path,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    user, _ = await start_trial(publisher)
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker, timeout_s=90)
    links = await links_of(kafka_settings, topics, user)
    assert set(links) == {address(n) for n in in_file(nodes)}
    for node in in_file(nodes):
        link = links[address(node)]
        assert link.startswith(f"vless://{user.key}@127.0.0.1:{node.xray.vless_port}?")
        assert link.endswith(f"#Keyland-{node.name}")
        with VlessClient(link, node.xray.build, clients_dir) as vless:
            assert vless.fetch(page) == PAGE
    assert user.key not in keys_on(nodes["sweden"])  # not in the countries file


async def test_expired_user_is_cut_off_at_once_while_another_user_still_connects(
    worker: Program,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    page: PageServer,
    clients_dir: Path,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    (user, until), (control, _) = await start_trial(publisher), await start_trial(publisher)
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    await eventually(lambda: on_every(control.key, in_file(nodes)), worker)
    user_links = await links_of(kafka_settings, topics, user)
    control_links = await links_of(kafka_settings, topics, control)
    with contextlib.ExitStack() as stack:
        users_clients, controls = (
            [
                stack.enter_context(VlessClient(links[address(n)], n.xray.build, clients_dir))
                for n in in_file(nodes)
            ]
            for links in (user_links, control_links)
        )
        assert all(c.can_fetch(page) for c in users_clients + controls)
        downloads = [c.download(page) for c in users_clients]
        control_downloads = [c.download(page) for c in controls]
        for download in downloads + control_downloads:
            stack.callback(download.close)
        await publish(publisher, user.expired(until))
        await eventually(
            lambda: not any(c.can_fetch(page) for c in users_clients), worker, timeout_s=2
        )
        assert all(c.fetch(page) == PAGE for c in controls)
        # The downloads already open end too (the issue's bound, 5 s), the controls' go on.
        ended = await asyncio.gather(*(asyncio.to_thread(d.ends_within, 5.0) for d in downloads))
        assert all(ended)
        assert not any(d.ends_within(0.5) for d in control_downloads)
    deactivated = [
        e.payload
        for e in await keys_facts(kafka_settings, topics)
        if isinstance(e.payload, KeyDeactivated) and e.payload.key_id == user.key_id
    ]
    assert sorted(d.node for d in deactivated) == sorted(address(n) for n in in_file(nodes))


async def test_renewal_enables_the_same_key_and_link_again(
    worker: Program,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    page: PageServer,
    clients_dir: Path,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    user, until = await start_trial(publisher)
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    links = await links_of(kafka_settings, topics, user)
    await publish(publisher, user.expired(until))
    await eventually(lambda: on_none(user.key, in_file(nodes)), worker)

    await publish(publisher, user.extended(until, until + timedelta(days=30)))
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    for node in in_file(nodes):
        with VlessClient(links[address(node)], node.xray.build, clients_dir) as vless:
            assert vless.fetch(page) == PAGE
    again = await activations(kafka_settings.bootstrap, topics("keys"), user.key_id, expected=4)
    assert len({e.event_id for e in again}) == 4  # one per node and period
    assert {e.payload.link for e in again} == set(links.values())


async def test_access_that_runs_out_before_its_expiry_arrives_is_revoked(
    worker: Program,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    """No ``SubscriptionExpired`` is published here: the wall clock alone ends access."""
    user = User.new()
    until = datetime.now(UTC) + timedelta(seconds=5)
    await publish(publisher, user.registered(), user.trial(until))
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker, timeout_s=5)
    await eventually(lambda: on_none(user.key, in_file(nodes)), worker, timeout_s=15)
    assert datetime.now(UTC) >= until
    deactivated = [
        e.payload.node
        for e in await keys_facts(kafka_settings, topics)
        if isinstance(e.payload, KeyDeactivated) and e.payload.key_id == user.key_id
    ]
    assert sorted(deactivated) == sorted(address(n) for n in in_file(nodes))


async def test_stale_expiry_is_ignored(
    worker: Program,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    page: PageServer,
    clients_dir: Path,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    user, until = await start_trial(publisher)
    renewed = until + timedelta(days=30)
    await publish(publisher, user.extended(until, renewed))
    [stale] = await publish(publisher, user.expired(until))
    [marker] = await publish(publisher, user.extended(renewed, renewed + timedelta(days=1)))
    await eventually(lambda: recorded(db, stale) and recorded(db, marker), worker)
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    links = await links_of(kafka_settings, topics, user)
    for node in in_file(nodes):
        with VlessClient(links[address(node)], node.xray.build, clients_dir) as vless:
            assert vless.fetch(page) == PAGE
    revoked = [
        e
        for e in await keys_facts(kafka_settings, topics)
        if isinstance(e.payload, KeyDeactivated) and e.payload.key_id == user.key_id
    ]
    assert revoked == []


async def test_purged_user_is_deleted_everywhere(
    worker: Program,
    api: str,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    user, _ = await start_trial(publisher)
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    url = await subscription_url(api, user)
    await publish(publisher, user.purged())
    await eventually(lambda: on_none(user.key, in_file(nodes)), worker, timeout_s=5)
    deleted = [
        e.payload
        for e in await keys_facts(kafka_settings, topics)
        if isinstance(e.payload, KeyDeleted) and e.payload.key_id == user.key_id
    ]
    assert sorted(d.node for d in deleted) == sorted(address(n) for n in in_file(nodes))
    states = {d["state"] for d in db.node_keys.find({"kind": "applied", "key_id": user.key})}
    assert states == {"deleted"}
    assert (await get(url)).status_code == 404


async def test_hand_edits_on_a_node_are_repaired_both_ways(
    worker: Program,
    publisher: EventPublisher,
    nodes: dict[str, Node],
) -> None:
    user, _ = await start_trial(publisher)
    finland = nodes["finland"]
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    stranger = str(uuid.uuid4())
    with agent_client(finland) as by_hand:
        assert by_hand.delete(f"/v1/users/{user.key}").status_code == 200
        assert by_hand.put(f"/v1/users/{stranger}").status_code == 200
    await eventually(lambda: user.key in keys_on(finland), worker, timeout_s=10)
    await eventually(lambda: stranger not in keys_on(finland), worker, timeout_s=10)


async def test_node_down_during_provisioning_gets_the_key_soon_after_it_returns(
    worker: Program,
    api: str,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    page: PageServer,
    clients_dir: Path,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    """The outage is announced once, the node's servers leave the pages meanwhile, and
    once the node is back and holds every key it is announced back once."""
    finland, germany = nodes["finland"], nodes["germany"]
    veteran, _ = await start_trial(publisher)
    await publish(publisher, RegionChosen(telegram_id=veteran.telegram_id, region="germany"))
    await eventually(lambda: on_every(veteran.key, in_file(nodes)), worker, timeout_s=10)
    links = await links_of(kafka_settings, topics, veteran)
    url = await subscription_url(api, veteran)
    outage_started = datetime.now(UTC)
    germany.stop()
    try:
        user, _ = await start_trial(publisher)
        await eventually(lambda: user.key in keys_on(finland), worker, timeout_s=10)

        def outages(found: list[Envelope[Event]]) -> list[NodeUnreachable]:
            return [
                e.payload
                for e in found
                if isinstance(e.payload, NodeUnreachable)
                and e.payload.node == address(germany)
                and e.payload.since >= outage_started - timedelta(seconds=1)
            ]

        announced = await read_topic(
            kafka_settings.bootstrap, topics("keys"), until=lambda f: bool(outages(f))
        )
        assert len(outages(announced)) == 1
        # the outage is recorded as announced right after it is published
        await eventually(lambda: listed(url) == [links[address(finland)]], worker, timeout_s=5)
        while_down = await get(url)
        assert decoded(while_down.headers["announce"]).startswith(
            "Unavailable now: germany — pick another server"
        )
        for_bot = await get(f"{api}/v1/users/{veteran.telegram_id}/links", API_TOKEN)
        assert for_bot.json()["links"] == {"finland": links[address(finland)]}
        await asyncio.sleep(3)  # the outage goes on: several more failed rounds
    finally:
        germany.start()

    def recoveries(found: list[Envelope[Event]]) -> list[NodeRecovered]:
        return [
            e.payload
            for e in found
            if isinstance(e.payload, NodeRecovered)
            and e.payload.node == address(germany)
            and e.payload.since >= outage_started - timedelta(seconds=1)
        ]

    back = await read_topic(
        kafka_settings.bootstrap, topics("keys"), until=lambda f: bool(recoveries(f))
    )
    assert user.key in keys_on(germany)  # announced back only once in line
    [recovered] = recoveries(back)
    assert recovered.since == outages(back)[0].since
    with VlessClient(links[address(germany)], germany.xray.build, clients_dir) as vless:
        assert vless.fetch(page) == PAGE
    both = [links[address(germany)], links[address(finland)]]
    await eventually(lambda: listed(url) == both, worker, timeout_s=5)
    after = await get(url)
    assert not decoded(after.headers["announce"]).startswith("Unavailable")
    user_links = await links_of(kafka_settings, topics, user)
    with VlessClient(user_links[address(germany)], germany.xray.build, clients_dir) as vless:
        assert vless.fetch(page) == PAGE
    facts = await keys_facts(kafka_settings, topics)
    assert len(outages(facts)) == 1  # once per outage
    assert len(recoveries(facts)) == 1


async def test_node_added_to_the_countries_file_is_back_filled(
    worker: Program,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    page: PageServer,
    clients_dir: Path,
    countries_file: Path,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    sweden = nodes["sweden"]
    (active, _), (lapsed, until) = await start_trial(publisher), await start_trial(publisher)
    await publish(publisher, lapsed.expired(until))
    await eventually(lambda: on_every(active.key, in_file(nodes)), worker)
    await eventually(lambda: on_none(lapsed.key, in_file(nodes)), worker)
    assert keys_on(sweden) == set()
    now = datetime.now(UTC)
    active_keys = {
        d["key_id"]
        for d in db.node_keys.find({"kind": "user"})
        if d.get("until") and d["until"] > now and d["until"] > (d.get("lapsed_until") or now)
    }
    try:
        write_countries(countries_file, [*in_file(nodes), sweden])
        await eventually(lambda: keys_on(sweden) >= active_keys, worker, timeout_s=10)
        assert lapsed.key not in keys_on(sweden)
        links = await activations(kafka_settings.bootstrap, topics("keys"), active.key_id, 3)
        [link] = [e.payload.link for e in links if e.payload.node == address(sweden)]
        with VlessClient(link, sweden.xray.build, clients_dir) as vless:
            assert vless.fetch(page) == PAGE

        write_text(countries_file, '{"finland": ["not an address"]')  # a bad edit
        await eventually(lambda: "keeping the 3 nodes in use" in worker.log(), worker)
        newcomer, _ = await start_trial(publisher)
        await eventually(lambda: on_every(newcomer.key, [*in_file(nodes), sweden]), worker)
    finally:
        write_countries(countries_file, in_file(nodes))
    await eventually(lambda: db.node_keys.count_documents({"node": address(sweden)}) == 0, worker)
    later, _ = await start_trial(publisher)
    await eventually(lambda: on_every(later.key, in_file(nodes)), worker)
    assert later.key not in keys_on(sweden)  # no longer managed


async def test_redelivered_events_change_nothing(
    worker: Program,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    user = User.new()
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    trial = fact(user.trial(until))
    for _ in range(3):
        await publisher.publish(trial)
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    renewed = until + timedelta(days=30)
    [renewal] = await publish(publisher, user.extended(until, renewed))
    await publisher.publish(trial)  # an older fact redelivered after a newer one
    [marker] = await publish(publisher, user.registered())  # same partition, behind it
    await eventually(lambda: recorded(db, marker), worker)
    document = access_document(db, user)
    assert document["until"] == renewed
    assert sorted(document["seen"]) == sorted(str(e.event_id) for e in (trial, renewal, marker))
    activated = [
        e
        for e in await keys_facts(kafka_settings, topics)
        if isinstance(e.payload, KeyActivated) and e.payload.key_id == user.key_id
    ]
    assert len(activated) == 2  # once per node


async def subscription_url(api: str, user: User) -> str:
    answer = await get(f"{api}/v1/users/{user.telegram_id}/subscription", API_TOKEN)
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["url"]
    assert url.startswith(f"{api}/sub/")
    return url


async def test_subscription_url_lists_every_country_link(
    worker: Program,
    api: str,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    page: PageServer,
    clients_dir: Path,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    user, until = await start_trial(publisher)
    await publish(publisher, RegionChosen(telegram_id=user.telegram_id, region="germany"))
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    links = await links_of(kafka_settings, topics, user)
    germany = nodes["germany"]
    with VlessClient(links[address(germany)], germany.xray.build, clients_dir) as vless:
        assert vless.fetch(page) == PAGE

    url = await subscription_url(api, user)
    answer = await get(url)
    assert answer.status_code == 200
    listed = base64.b64decode(answer.content).decode().split("\n")
    assert listed == [links[address(germany)], links[address(nodes["finland"])]]
    assert answer.headers["profile-title"] == "base64:" + base64.b64encode(b"Keyland").decode()
    assert answer.headers["profile-update-interval"] == "12"
    userinfo = dict(
        part.strip().split("=") for part in answer.headers["subscription-userinfo"].split(";")
    )
    assert userinfo["total"] == "0"
    assert userinfo["expire"] == str(int(until.timestamp()))
    assert int(userinfo["download"]) >= len(PAGE)
    assert int(userinfo["upload"]) > 0
    expected = f"Access ends {until:%d.%m.%Y %H:%M} UTC — renew in @{BOT}"
    assert decoded(answer.headers["announce"]) == expected  # a 3-day trial: inside the window

    def moved_through_germany(found: list[Envelope[Event]]) -> int:
        return sum(
            e.payload.downlink_bytes
            for e in found
            if isinstance(e.payload, TrafficCounted)
            and e.payload.key_id == user.key_id
            and e.payload.node == address(germany)
        )

    counted = await read_topic(
        kafka_settings.bootstrap,
        topics("traffic"),
        until=lambda found: moved_through_germany(found) >= len(PAGE),
        timeout_s=30,
    )
    assert moved_through_germany(counted) >= len(PAGE)  # the node loop counted the fetch

    for_bot = await get(f"{api}/v1/users/{user.telegram_id}/links", API_TOKEN)
    assert for_bot.json() == {
        "links": {"germany": links[address(germany)], "finland": links[address(nodes["finland"])]},
        "subscription_url": url,
    }

    await publish(publisher, user.expired(until))
    await eventually(lambda: listed_names(url) == [ENDED], worker, timeout_s=5)
    lapsed = await get(url)
    assert lapsed.status_code == 200
    assert "expire=" in lapsed.headers["subscription-userinfo"]
    assert decoded(lapsed.headers["announce"]) == ENDED
    assert (await get(f"{api}/v1/users/{user.telegram_id}/links", API_TOKEN)).status_code == 404


def decoded(header: str) -> str:
    assert header.startswith("base64:")
    return base64.b64decode(header.removeprefix("base64:")).decode()


def listed(url: str) -> list[str]:
    """The share links of the base64 page at ``url``."""
    return base64.b64decode(httpx.get(url).content).decode().split()


def listed_names(url: str) -> list[str]:
    """The names of the entries of the base64 page at ``url``."""
    body = base64.b64decode(httpx.get(url).content).decode()
    return [outbound_of_link(link).name for link in body.split()]


async def test_subscription_url_serves_each_client_its_format(
    worker: Program,
    api: str,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    page: PageServer,
    clients_dir: Path,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    user, until = await start_trial(publisher, days=10)
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    links = await links_of(kafka_settings, topics, user)
    outbounds = [outbound_of_link(links[address(n)]) for n in in_file(nodes)]  # by country
    url = await subscription_url(api, user)

    clash = await get(url, agent="clash-verge/v2.0.3")
    assert clash.headers["content-type"].startswith("text/yaml")
    assert clash.content == render(Format.CLASH, outbounds, "Keyland").body
    assert [p["port"] for p in yaml.safe_load(clash.content)["proxies"]] == [
        n.xray.vless_port for n in in_file(nodes)
    ]
    sing_box = await get(url, agent="SFA/1.11.4 (Android 14; sing-box 1.11.4)")
    assert sing_box.headers["content-type"] == "application/json"
    assert sing_box.content == render(Format.SING_BOX, outbounds, "Keyland").body
    links_page = await get(url, agent="Happ/1.6.1")
    assert links_page.content == render(Format.BASE64, outbounds, "Keyland").body
    for answer in (clash, sing_box, links_page):
        assert f"expire={int(until.timestamp())}" in answer.headers["subscription-userinfo"]
        assert answer.headers["support-url"] == SUPPORT
        assert "announce" not in answer.headers  # 10 days left, the window is 3
        assert "profile-web-page-url" not in answer.headers  # not set

    xray = await get(f"{url}?format=xray", agent="clash-verge/v2.0.3")  # the parameter wins
    configs = xray.json()
    assert [c["remarks"] for c in configs] == [f"Keyland-{n.name}" for n in in_file(nodes)]
    for config, node in zip(configs, in_file(nodes), strict=True):
        with XrayClient(config, node.xray.build, clients_dir) as client:
            assert client.fetch(page) == PAGE

    refused = await get(f"{url}?format=v2ray")
    assert refused.status_code == 400
    assert "one of: base64, clash, sing-box, xray" in refused.text

    await publish(publisher, user.expired(until))
    await eventually(lambda: listed_names(url) == [ENDED], worker, timeout_s=5)
    ended = await get(url, agent="mihomo/1.18.10")
    assert [p["name"] for p in yaml.safe_load(ended.content)["proxies"]] == [ENDED]


async def test_subscription_urls_cannot_be_guessed(api: str, publisher: EventPublisher) -> None:
    user, _ = await start_trial(publisher)
    assert (await get(f"{api}/sub/{user.key}")).status_code == 404
    assert (await get(f"{api}/sub/{'A' * 43}")).status_code == 404
    unauthorised = await get(f"{api}/v1/users/{user.telegram_id}/subscription")
    assert unauthorised.status_code == 401
    assert (await get(f"{api}/health")).status_code == 200


async def test_a_subscription_opens_at_one_url_only(
    worker: Program, api: str, publisher: EventPublisher, nodes: dict[str, Node]
) -> None:
    user, _ = await start_trial(publisher)
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    url = await subscription_url(api, user)
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    last = alphabet.index(url[-1])
    spare_bits_set = url[:-1] + alphabet[last ^ 0b11]  # decodes to the same bytes
    assert (await get(url)).status_code == 200
    assert (await get(spare_bits_set)).status_code == 404
    assert (await get(url + "=")).status_code == 404


async def test_poison_record_goes_to_the_dlq_and_the_partition_moves_on(
    worker: Program,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    env: dict[str, str],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    user = User.new()
    key = str(user.telegram_id).encode()
    await publisher.send_raw(topics("subscriptions"), key=key, value=b"{poison", headers=[])
    until = datetime.now(UTC) + timedelta(days=3)
    await publish(publisher, user.trial(until))  # same key, same partition: behind the poison
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    dead = await read_raw(kafka_settings.bootstrap, topics.dlq("subscriptions"), until=1)
    assert [value for value, _ in dead] == [b"{poison"]
    assert dead[0][1]["dlq.consumer"] == env["KEYLAND_PROVISIONER_APP_ID"].encode()


async def test_replaying_the_topic_from_offset_zero_changes_nothing(
    worker: Program,
    env: dict[str, str],
    publisher: EventPublisher,
    nodes: dict[str, Node],
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    user, _ = await start_trial(publisher)
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    worker.stop()
    documents_before = list(db.node_keys.find({"kind": "user"}).sort("_id"))
    facts_before = {e.event_id for e in await keys_facts(kafka_settings, topics, timeout_s=3)}

    replay_env = {
        **env,
        "KEYLAND_PROVISIONER_APP_ID": env["KEYLAND_PROVISIONER_APP_ID"] + "-replay",
    }
    replay_log = tmp_path_factory.mktemp("replay") / "replay.log"
    replay = Program("services.provisioner", replay_env, replay_log, args=["worker"]).start()
    try:
        marker, _ = await start_trial(publisher)
        await eventually(lambda: on_every(marker.key, in_file(nodes)), replay, timeout_s=90)
    finally:
        replay.stop()
        worker.start()
    after = [
        d
        for d in db.node_keys.find({"kind": "user"}).sort("_id")
        if d["telegram_id"] != marker.telegram_id
    ]
    assert after == documents_before
    facts_after = await keys_facts(kafka_settings, topics, timeout_s=3)
    new = [
        e
        for e in facts_after
        if e.event_id not in facts_before
        # a node's load is sampled anew each minute, by whichever worker runs: not a replay
        and not isinstance(e.payload, NodeLoadReported)
    ]
    assert {getattr(e.payload, "telegram_id", None) for e in new} == {marker.telegram_id}


async def test_node_removed_while_the_worker_was_away_is_forgotten_at_start(
    worker: Program,
    api: str,
    publisher: EventPublisher,
    nodes: dict[str, Node],
    countries_file: Path,
    db: Database[Document],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    finland, germany = nodes["finland"], nodes["germany"]
    user, _ = await start_trial(publisher)
    await eventually(lambda: on_every(user.key, in_file(nodes)), worker)
    links = await links_of(kafka_settings, topics, user)
    url = await subscription_url(api, user)

    def records_of_germany() -> int:
        return db.node_keys.count_documents({"node": address(germany), "key_id": user.key})

    worker.stop()
    try:
        write_countries(countries_file, [finland])
        worker.start()
        await eventually(lambda: records_of_germany() == 0, worker)
        listed = base64.b64decode((await get(url)).content).decode().split("\n")
        assert listed == [links[address(finland)]]
    finally:
        write_countries(countries_file, in_file(nodes))
        if worker.process is None:
            worker.start()
    await eventually(lambda: records_of_germany() == 1, worker)  # back: managed again
    again = await activations(kafka_settings.bootstrap, topics("keys"), user.key_id, 3)
    in_germany = [e.event_id for e in again if e.payload.node == address(germany)]
    assert len(in_germany) == 2
    assert len(set(in_germany)) == 1  # announced again under the same id: recognisable


async def test_each_nodes_load_is_reported_once_a_minute(
    worker: Program,
    nodes: dict[str, Node],
    kafka_settings: KafkaSettings,
    topics: TopicNames,
) -> None:
    finland = address(nodes["finland"])

    def reports(found: list[Envelope[Event]]) -> list[Envelope[Event]]:
        return [
            e
            for e in found
            if isinstance(e.payload, NodeLoadReported) and e.payload.node == finland
        ]

    # the agent measures after its second look; a minute it could not report is skipped
    found = reports(
        await read_topic(
            kafka_settings.bootstrap,
            topics("keys"),
            until=lambda f: bool(reports(f)),
            timeout_s=150,
        )
    )
    assert found, "no NodeLoadReported for finland"
    load = found[0].payload
    assert isinstance(load, NodeLoadReported)
    assert (load.country, load.minute.second, load.minute.microsecond) == ("finland", 0, 0)
    assert 0 < load.memory_bytes < load.host_memory_bytes
    # a round repeated (a worker restarted, a node loop rebuilt) reports its minute again
    # under the same id, which consumers recognise
    ids_by_minute: dict[datetime, set[uuid.UUID]] = {}
    for e in found:
        assert isinstance(e.payload, NodeLoadReported)
        ids_by_minute.setdefault(e.payload.minute, set()).add(e.event_id)
    assert all(len(ids) == 1 for ids in ids_by_minute.values())


class TestStartUp:
    def _run(self, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.provisioner", "worker"],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def test_malformed_countries_file_stops_start_up_naming_it(
        self, env: dict[str, str], tmp_path: Path
    ) -> None:
        bad = tmp_path / "countries.json"
        bad.write_text(json.dumps({"finland": ["127.0.0.1"]}))
        done = self._run({**env, "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(bad)})
        assert done.returncode != 0
        assert "KEYLAND_PROVISIONER_COUNTRIES_FILE" in done.stderr
        assert "'127.0.0.1' is not host:port" in done.stderr

    def test_node_without_a_token_stops_start_up(self, env: dict[str, str], tmp_path: Path) -> None:
        countries = tmp_path / "countries.json"
        countries.write_text(json.dumps({"finland": ["127.0.0.1:9"]}))
        done = self._run({**env, "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries)})
        assert done.returncode != 0
        assert "no token for 127.0.0.1:9" in done.stderr
