"""The provisioner's node loops alone, against two real local nodes (Xray + agent).

In this process: the provisioner's worker parts as ``bootstrap()`` builds them, minus
faust (the agent's handler is called directly, one event at a time, as the agent would),
on a fresh database and topic prefix of the shared Kafka and FerretDB. Two steps:

- idle: ``SEEDED`` users with lapsed access are in ``node_keys`` (nothing to do on any
  node); for ``IDLE_S`` seconds nothing happens, and every database command the node loops
  send is counted, with the documents they read back;
- trials: ``TRIALS`` new users' facts (``UserRegistered`` + ``TrialActivated``) go
  through the handler; per trial, the time from handing the trial to the handler until
  its key is enabled on both nodes (the agents' own record, polled every 20 ms).

Run: ``.venv/bin/python -m bench.provisioner_loops [SEEDED] [TRIALS] [IDLE_S]``
(default 900 100 20) with ``KEYLAND_KAFKA_BOOTSTRAP`` and ``KEYLAND_MONGO_URL`` set.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import monitoring

from bench.measure import SPREAD_HEADER, Agent, NodeWatcher, spread_ms
from events import Envelope, Event
from events.registry import TopicNames
from events.subscriptions import SubscriptionExpired, TrialActivated, UserRegistered
from keyland.kafka.topics import ensure_topics
from keyland.mongo import database
from keyland.settings import KafkaSettings, MongoSettings, load
from keyland_tools.stack.node import Node
from tests.provisioning import address, new_node, node_tokens, write_countries


class CommandCounter(monitoring.CommandListener):
    """Database commands by name, and the documents their answers carried."""

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()
        self.documents_read = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cursor: dict[str, Any] = event.reply.get("cursor") or {}
        self.documents_read += len(cursor.get("firstBatch", cursor.get("nextBatch", [])))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def envelope(event: Event, at: datetime) -> Envelope[Event]:
    return Envelope.new(event, producer="subscription", occurred_at=at)


async def seed(handler: Any, count: int) -> None:
    """Users whose access lapsed: on record, with no key on any node."""
    past = datetime.now(UTC) - timedelta(days=1)
    for telegram_id in range(7_000_000_000, 7_000_000_000 + count):
        key = uuid.uuid4()
        await handler(envelope(UserRegistered(telegram_id=telegram_id, key_id=key), past))
        await handler(
            envelope(SubscriptionExpired(telegram_id=telegram_id, key_id=key, until=past), past)
        )


async def measure_idle(counter: CommandCounter, seeded: int, idle_s: float) -> None:
    counter.commands.clear()
    counter.documents_read = 0
    await asyncio.sleep(idle_s)
    per_s = {name: round(n / idle_s, 2) for name, n in sorted(counter.commands.items())}
    print(f"idle {idle_s:.0f} s, {seeded} users: commands/s {per_s}")
    print(f"idle: documents read/s {counter.documents_read / idle_s:.1f}")


async def measure_trials(container: Any, nodes: list[Node], trials: int) -> None:
    agents = [
        Agent(n.name, f"http://{address(n)}", n.agent.environment["KEYLAND_NODE_TOKEN"])
        for n in nodes
    ]
    async with (
        httpx.AsyncClient(timeout=10) as http,
        NodeWatcher(http, agents, interval_s=0.02) as watcher,
    ):
        handed: dict[str, float] = {}
        until = datetime.now(UTC) + timedelta(days=3)
        for telegram_id in range(8_000_000_000, 8_000_000_000 + trials):
            key = uuid.uuid4()
            watcher.expect([str(key)])
            now = datetime.now(UTC)
            registered = UserRegistered(telegram_id=telegram_id, key_id=key)
            await container.handler(envelope(registered, now))
            handed[str(key)] = time.perf_counter()
            trial = TrialActivated(telegram_id=telegram_id, key_id=key, until=until)
            await container.handler(envelope(trial, now))
        missing = await watcher.wait(handed, enabled=True, timeout_s=120)
        took = [
            usable - handed[key] for key in handed if (usable := watcher.usable_at(key)) is not None
        ]
    print(f"trial → key on both nodes, {trials} trials ({missing} missing), ms:")
    print(f"  {SPREAD_HEADER}\n  {spread_ms(took)}")


async def main(seeded: int, trials: int, idle_s: float) -> None:
    counter = CommandCounter()
    monitoring.register(counter)  # before bootstrap() builds its client
    isolation = f"b{uuid.uuid4().hex[:10]}"
    home = Path(tempfile.mkdtemp(prefix="provisioner-bench-"))
    nodes = [new_node(home, name) for name in ("finland", "germany")]
    countries = home / "countries.json"
    write_countries(countries, nodes)
    os.environ.update(
        {
            "KEYLAND_KAFKA_TOPIC_PREFIX": f"{isolation}.",
            "KEYLAND_MONGO_DATABASE": isolation,
            "KEYLAND_PROVISIONER_APP_ID": f"{isolation}-provisioner",
            "KEYLAND_PROVISIONER_DATA_DIR": str(home / "provisioner"),
            "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
            "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(nodes),
        }
    )
    kafka = load(KafkaSettings)
    await ensure_topics(kafka.bootstrap, TopicNames(kafka.topic_prefix))
    from services.provisioner.bootstrap import bootstrap  # noqa: PLC0415 - after the env

    container = bootstrap()
    fleet: asyncio.Task[None] | None = None
    try:
        for node in nodes:
            node.start()
        await container.prepare_database()
        started = time.perf_counter()
        await seed(container.handler, seeded)
        print(f"seeded {seeded} lapsed users in {time.perf_counter() - started:.1f} s")
        fleet = asyncio.create_task(container.fleet.run())
        await asyncio.sleep(3)  # start-up reads and first rounds
        await measure_idle(counter, seeded, idle_s)
        await measure_trials(container, nodes, trials)
    finally:
        if fleet is not None:
            fleet.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fleet
        await container.publisher.close()
        await container.clients.close()
        for node in nodes:
            node.stop()
        handle = database(load(MongoSettings), app_name="bench")
        handle.client.drop_database(isolation)
        handle.client.close()


if __name__ == "__main__":
    arguments = [float(a) for a in sys.argv[1:]]
    seeded_users, trial_count, idle = [*arguments, 900, 100, 20][:3]
    asyncio.run(main(int(seeded_users), int(trial_count), idle))
