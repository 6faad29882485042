"""Two provisioner worker instances in one consumer group, against real Kafka, the real
database and two real nodes (Xray + agent).

The test acts as the subscription service. Each instance must apply only the users of the
partitions it owns (and the node's own duties only where it owns the node's address); a
SIGKILLed instance's users are taken over by the other, and a restarted instance takes a
share back. Who did what is read from each instance's log (one line per key changed on a
node), what the nodes hold from their agents, and what was announced from ``keys``.
"""

from __future__ import annotations

import asyncio
import functools
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from events import Envelope, Event
from events.keys import (
    KeyActivated,
    KeyDeactivated,
    NodeLoadReported,
    NodeRecovered,
    NodeUnreachable,
)
from events.registry import TOPICS_BY_NAME, TopicNames
from keyland.kafka.ownership import partition_of
from keyland.kafka.producer import EventPublisher
from keyland.kafka.topics import wait_until_visible
from keyland.settings import KafkaSettings
from keyland_tools.stack.node import Node
from tests.kafka_tail import read_topic
from tests.nodes import agent_client
from tests.processes import Program
from tests.provisioning import (
    User,
    address,
    keys_on,
    log_messages,
    node_tokens,
    partitions_owned,
    publish,
    running_nodes,
    share_every_partition,
    write_countries,
)
from tests.waiting import eventually

E = TypeVar("E", bound=Event)
PARTITIONS = TOPICS_BY_NAME["subscriptions"].partitions
CHANGED = re.compile(r"^(enable|revoke|record) ([0-9a-f-]{36}) on (\S+): ")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    with running_nodes(tmp_path_factory.mktemp("nodes"), ("finland", "germany")) as made:
        yield made


@pytest.fixture(scope="module")
async def env(
    service_env: dict[str, str],
    isolation: str,
    nodes: list[Node],
    kafka_settings: KafkaSettings,
    created_topics: TopicNames,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    countries = tmp_path_factory.mktemp("countries") / "countries.json"
    write_countries(countries, nodes)
    names = [created_topics(base) for base in ("subscriptions", "bot.actions", "keys")]
    await wait_until_visible(kafka_settings.bootstrap, names)
    return {
        **service_env,
        "KEYLAND_PROVISIONER_APP_ID": f"{isolation}-provisioner",
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
        "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(nodes),
        "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S": "1",
        "KEYLAND_PROVISIONER_RETRY_MAX_S": "1",
        # Short, so that an instance taking another's fresh users for strangers would
        # remove their keys within the test.
        "KEYLAND_PROVISIONER_UNKNOWN_KEY_GRACE_S": "1",
        "KEYLAND_PROVISIONER_OUTAGE_GRACE_S": "0",
    }


@dataclass
class Instance:
    program: Program

    @classmethod
    def start(cls, env: dict[str, str], home: Path) -> Instance:
        home.mkdir()
        settings = {**env, "KEYLAND_PROVISIONER_DATA_DIR": str(home / "data")}
        return cls(Program("services.provisioner", settings, home / "log", ["worker"]).start())

    def messages(self) -> list[str]:
        return log_messages(self.program)

    def owned(self) -> set[int] | None:
        return partitions_owned(self.program)

    def changed_keys(self, after: int = 0) -> list[uuid.UUID]:
        """The keys it changed on a node (or recorded), from its ``after``-th message on."""
        return [uuid.UUID(m[2]) for line in self.messages()[after:] if (m := CHANGED.match(line))]


def logged(instance: Instance, keys: set[uuid.UUID]) -> bool:
    return keys <= set(instance.changed_keys())


def owner(user: User) -> int:
    return partition_of(str(user.telegram_id).encode(), PARTITIONS)


def users_of(partitions: set[int], count: int) -> list[User]:
    """``count`` new users whose partition is among ``partitions``."""
    found: list[User] = []
    while len(found) < count:
        user = User.new()
        if owner(user) in partitions:
            found.append(user)
    return found


def until_in(days: float) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def in_line(active: list[User], cut_off: list[User], nodes: list[Node]) -> bool:
    held = [keys_on(node) for node in nodes]
    return all(
        {u.key for u in active} <= keys and not {u.key for u in cut_off} & keys for keys in held
    )


async def split_between(*instances: Instance) -> list[set[int]]:
    """Wait until the instances own every partition between them, each some, none twice."""
    programs = [i.program for i in instances]
    await eventually(lambda: share_every_partition(programs, PARTITIONS), *programs)
    return [i.owned() or set() for i in instances]


async def test_instances_share_the_users_and_take_over_a_killed_ones(
    env: dict[str, str],
    nodes: list[Node],
    publisher: EventPublisher,
    kafka_settings: KafkaSettings,
    topics: TopicNames,
    tmp_path: Path,
) -> None:
    started: list[Instance] = []

    def start(name: str) -> Instance:
        started.append(Instance.start(env, tmp_path / name))
        return started[-1]

    first, second = start("first"), start("second")
    try:
        shares = await split_between(first, second)
        split_at = datetime.now(UTC)
        # Users on both sides: trials, two renewed later, two cut off by an expiry.
        early = [user for share in shares for user in users_of(share, 4)]
        untils = {user.key: until_in(3) for user in early}
        for user in early:
            await publish(publisher, user.registered(), user.trial(untils[user.key]))
        lapsing = [early[0], early[4]]  # one of each instance
        for user in lapsing:
            await publish(publisher, user.expired(untils[user.key]))
        stranger = str(uuid.uuid4())
        with agent_client(nodes[0]) as by_hand:
            assert by_hand.put(f"/v1/users/{stranger}").status_code == 200
        active = [u for u in early if u not in lapsing]
        programs = (first.program, second.program)
        await eventually(lambda: in_line(active, lapsing, nodes), *programs, timeout_s=30)
        await eventually(lambda: stranger not in keys_on(nodes[0]), *programs, timeout_s=30)

        # Each instance changed the keys of its own users only (each change is logged
        # once it is recorded, a moment after the node has it).
        for instance, share in ((first, shares[0]), (second, shares[1])):
            mine = {u.key_id for u in early if owner(u) in share}
            enabled_here = {u.key_id for u in active if owner(u) in share}
            await eventually(functools.partial(logged, instance, enabled_here), *programs)
            assert set(instance.changed_keys()) <= mine

        def removals() -> list[str]:
            return [m for i in (first, second) for m in i.messages() if "nobody owns" in m]

        await eventually(lambda: bool(removals()), *programs)  # logged after its record
        assert removals() == [f"removed key {stranger} that nobody owns from {address(nodes[0])}"]

        # One node down a while: each instance's rounds fail there, and one announces.
        down = nodes[1]
        down.stop()
        try:
            newcomer = users_of(shares[0], 1)[0]
            await publish(publisher, newcomer.registered(), newcomer.trial(until_in(3)))
            await read_topic(
                kafka_settings.bootstrap,
                topics("keys"),
                until=lambda found: bool(of_type(found, NodeUnreachable)),
            )
            await asyncio.sleep(2)  # more failed rounds in both instances
        finally:
            down.start()
        early.append(newcomer)
        active.append(newcomer)
        await read_topic(
            kafka_settings.bootstrap,
            topics("keys"),
            until=lambda found: bool(of_type(found, NodeRecovered)),
        )
        await eventually(lambda: in_line(active, lapsing, nodes), *programs, timeout_s=30)

        # The first dies mid-way: events of both instances' users are on their way.
        second_seen = len(second.messages())
        late = [user for share in shares for user in users_of(share, 2)]
        renewed, cut = lapsing[0], early[1]
        for user in late:
            await publish(publisher, user.registered(), user.trial(until_in(3)))
        await publish(
            publisher,
            renewed.extended(untils[renewed.key], untils[renewed.key] + timedelta(days=30)),
            cut.expired(untils[cut.key]),
        )
        killed_at = datetime.now(UTC)
        first.program.kill()
        active = [u for u in [*early, *late] if u not in (lapsing[1], cut)]
        cut_off = [lapsing[1], cut]
        await eventually(lambda: second.owned() == set(range(PARTITIONS)), second.program)
        await eventually(lambda: in_line(active, cut_off, nodes), second.program, timeout_s=30)
        await eventually(
            lambda: {renewed.key_id, cut.key_id} <= set(second.changed_keys(second_seen)),
            second.program,
        )

        # It comes back and takes a share again; new users of both shares still arrive.
        again = start("again")
        shares = await split_between(again, second)
        again_seen = len(again.messages())
        newest = [user for share in shares for user in users_of(share, 2)]
        for user in newest:
            await publish(publisher, user.registered(), user.trial(until_in(3)))
        await publish(publisher, early[2].expired(untils[early[2].key]))
        active = [u for u in [*active, *newest] if u is not early[2]]
        cut_off.append(early[2])
        await eventually(
            lambda: in_line(active, cut_off, nodes), again.program, second.program, timeout_s=30
        )
        mine = {u.key_id for u in [*early, *late, *newest] if owner(u) in shares[0]}
        assert set(again.changed_keys(again_seen)) <= mine
    finally:
        for instance in started:
            instance.program.stop()

    facts = await read_topic(kafka_settings.bootstrap, topics("keys"), timeout_s=3)
    # Nothing announced twice while both instances ran: no key applied by both, and the
    # node's load reported by one of them (facts around a handover may repeat, same id).
    assert_no_repeats([f for f in facts if split_at <= f.occurred_at < killed_at])
    loads = [f.payload for f in facts if isinstance(f.payload, NodeLoadReported)]
    assert {load.node for load in loads} == {address(n) for n in nodes}
    assert [f.node for f in of_type(facts, NodeUnreachable)] == [address(down)]
    assert [f.node for f in of_type(facts, NodeRecovered)] == [address(down)]
    # Users who kept their access were never cut off by anybody.
    kept = {u.key_id for u in active if u not in (renewed,)}
    assert not [
        f for f in facts if isinstance(f.payload, KeyDeactivated) and f.payload.key_id in kept
    ]
    enabled = Counter(
        (f.payload.key_id, f.payload.node) for f in facts if isinstance(f.payload, KeyActivated)
    )
    assert {key for key, _ in enabled} >= {u.key_id for u in active}


def of_type(facts: list[Envelope[Event]], kind: type[E]) -> list[E]:
    return [f.payload for f in facts if isinstance(f.payload, kind)]


def assert_no_repeats(facts: list[Envelope[Event]]) -> None:
    repeated = {i: n for i, n in Counter(f.event_id for f in facts).items() if n > 1}
    assert not repeated, [f for f in facts if f.event_id in repeated]
