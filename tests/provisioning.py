"""Helpers for running the provisioner against real nodes: its environment, the countries
file, the facts the subscription service would publish, and looks at nodes and topics."""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from events import Envelope, Event
from events.keys import KeyActivated
from events.subscriptions import (
    ExtensionReason,
    SubscriptionExpired,
    SubscriptionExtended,
    TrialActivated,
    UserPurged,
    UserRegistered,
)
from keyland.kafka.producer import EventPublisher
from keyland_tools.stack.node import Node
from keyland_tools.stack.settings import StackSettings
from tests.kafka_tail import assign_whole_topic, read_topic
from tests.nodes import agent_client
from tests.processes import Program, free_port

_telegram_ids = itertools.count(random.randrange(10**6, 10**9, 10**5))
_OWNING = re.compile(r"^owning partitions \[([\d, ]*)\] of \d+$")


def address(node: Node) -> str:
    """``host:port`` of the node's agent, as the countries file names it."""
    return node.url.removeprefix("http://")


def new_node(state_dir: Path, name: str) -> Node:
    """A node on free loopback ports with its own token, not started yet (so that a caller
    holding it can stop it even when starting fails halfway)."""
    return Node(
        StackSettings(state_dir=state_dir),
        name,
        vless_port=free_port(),
        api_port=free_port(),
        agent_port=free_port(),
        token=secrets.token_urlsafe(24),
    )


@contextlib.contextmanager
def running_nodes(state_dir: Path, names: Iterable[str]) -> Iterator[list[Node]]:
    """Nodes named ``names``, started, and stopped afterwards (also half-started ones)."""
    made = [new_node(state_dir, name) for name in names]
    try:
        for node in made:
            node.start()
        yield made
    finally:
        for node in made:
            node.stop()


def write_text(path: Path, text: str) -> None:
    """Replace the file's content atomically (the provisioner polls it)."""
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)


def write_countries(path: Path, nodes: list[Node]) -> None:
    """A countries file listing ``nodes`` under their names."""
    countries: dict[str, list[str]] = {}
    for node in nodes:
        countries.setdefault(node.name, []).append(address(node))
    write_text(path, json.dumps(countries))


def node_tokens(nodes: list[Node]) -> str:
    """``KEYLAND_PROVISIONER_NODE_TOKENS`` for ``nodes`` (each test node has its own token)."""
    return json.dumps({address(n): n.agent.environment["KEYLAND_NODE_TOKEN"] for n in nodes})


def keys_on(node: Node) -> set[str]:
    """The key ids the node's agent has enabled (empty when the agent does not answer)."""
    with agent_client(node) as api:
        try:
            response = api.get("/v1/users")
        except OSError:
            return set()
    if response.status_code != 200:
        return set()
    return set(response.json()["key_ids"])


@dataclass(frozen=True)
class User:
    """A user as the subscription service would describe them."""

    telegram_id: int
    key_id: uuid.UUID

    @classmethod
    def new(cls) -> User:
        return cls(next(_telegram_ids), uuid.uuid4())

    @property
    def key(self) -> str:
        return str(self.key_id)

    def registered(self) -> UserRegistered:
        return UserRegistered(telegram_id=self.telegram_id, key_id=self.key_id)

    def trial(self, until: datetime) -> TrialActivated:
        return TrialActivated(telegram_id=self.telegram_id, key_id=self.key_id, until=until)

    def extended(self, previous: datetime | None, until: datetime) -> SubscriptionExtended:
        return SubscriptionExtended(
            telegram_id=self.telegram_id,
            key_id=self.key_id,
            previous_until=previous,
            until=until,
            reason=ExtensionReason.PAYMENT,
            payment_id=f"pay-{uuid.uuid4().hex[:8]}",
        )

    def expired(self, until: datetime) -> SubscriptionExpired:
        return SubscriptionExpired(telegram_id=self.telegram_id, key_id=self.key_id, until=until)

    def purged(self) -> UserPurged:
        return UserPurged(telegram_id=self.telegram_id, key_id=self.key_id)


def fact(event: Event, at: datetime | None = None) -> Envelope[Event]:
    return Envelope.new(event, producer="subscription", occurred_at=at or datetime.now(UTC))


async def publish(publisher: EventPublisher, *events: Event) -> list[Envelope[Event]]:
    """Publish ``events`` in order, as the subscription service would; their envelopes."""
    sent = [fact(event) for event in events]
    for envelope in sent:
        await publisher.publish(envelope)
    return sent


async def start_trial(publisher: EventPublisher, days: float = 3) -> tuple[User, datetime]:
    user = User.new()
    until = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    await publish(publisher, user.registered(), user.trial(until))
    return user, until


async def activations(
    bootstrap: str, topic: str, key_id: uuid.UUID, expected: int, timeout_s: float = 30
) -> list[Envelope[KeyActivated]]:
    """``KeyActivated`` events of ``key_id``, once at least ``expected`` are on the topic."""

    def of_key(found: list[Envelope[Event]]) -> list[Envelope[KeyActivated]]:
        return [
            e  # type: ignore[misc]
            for e in found
            if isinstance(e.payload, KeyActivated) and e.payload.key_id == key_id
        ]

    found = await read_topic(
        bootstrap, topic, until=lambda f: len(of_key(f)) >= expected, timeout_s=timeout_s
    )
    return of_key(found)


async def read_raw(
    bootstrap: str, topic: str, *, until: int, timeout_s: float = 30
) -> list[tuple[bytes | None, dict[str, bytes]]]:
    """Values and headers of the records on ``topic`` (undecoded: poison stays poison)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout_s
        await assign_whole_topic(consumer, topic, deadline)
        found: list[tuple[bytes | None, dict[str, bytes]]] = []
        while len(found) < until and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=300)).values():
                found += [(r.value, dict(r.headers)) for r in batch]
        return found
    finally:
        await consumer.stop()


def log_messages(worker: Program) -> list[str]:
    """The messages of a provisioner worker's log so far (JSON lines), in order."""
    lines = worker.log_file.read_text(errors="replace").splitlines()
    return [json.loads(line)["message"] for line in lines if line.startswith("{")]


def partitions_owned(worker: Program) -> set[int] | None:
    """The partitions a provisioner worker owns as it last said; None before it owned any."""
    found = [m for line in log_messages(worker) if (m := _OWNING.match(line))]
    return None if not found else {int(p) for p in found[-1][1].split(",") if p.strip()}


def share_every_partition(workers: Iterable[Program], partitions: int) -> bool:
    """Whether the workers own every partition between them, each some, none twice."""
    shares = [partitions_owned(worker) for worker in workers]
    every = sorted(p for share in shares for p in share or ())
    return all(shares) and every == list(range(partitions))
