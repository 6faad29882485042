"""Figures of the provisioner on real Kafka, the real database and two real local nodes.

``python -m tests.provisioner_figures [--users N] [--outages N] [--instances N]`` prints,
with ``--instances`` provisioner workers in one consumer group (1 by default; measuring
starts once they share the partitions):
- provision latency: ``TrialActivated`` published → a real VLESS client fetches a page
  through both nodes;
- revocation latency: ``SubscriptionExpired`` published → new connections refused on both;
- what an already-open connection of a revoked user does;
- reconciliation after an outage: a node stopped while a user is provisioned, started
  again → the user's key is back on it.

It uses its own topic prefix and database (dropped at the end) and stops everything it
started. Kafka and the database come from the same place as in the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from events.registry import TOPICS_BY_NAME, TopicNames
from keyland.kafka.producer import EventPublisher
from keyland.kafka.topics import ensure_topics, wait_until_visible
from keyland.mongo import database
from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.stack.node import Node
from keyland_tools.stack.vless_client import PAGE, PageServer, ProxyRefused, VlessClient
from tests.endpoints import Endpoints, real_endpoints
from tests.processes import Program
from tests.provisioning import (
    User,
    keys_on,
    new_node,
    node_tokens,
    publish,
    share_every_partition,
    write_countries,
)

cli = typer.Typer(add_completion=False)


def wait_for(check: Callable[[], bool], timeout_s: float, step_s: float = 0.005) -> float:
    """Seconds until ``check`` held (polling every ``step_s``); TimeoutError after ``timeout_s``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"not within {timeout_s} s")
        time.sleep(step_s)
    return time.monotonic() - started


def link(node: Node, user: User) -> str:
    """The link the agent answers for a local node (known before the key exists)."""
    port = node.xray.vless_port
    return f"vless://{user.key}@127.0.0.1:{port}?encryption=none&type=tcp&security=none#Keyland-{node.name}"


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return (
        f"{name:<44} n={len(ms):<3} median {statistics.median(ms):7.1f} ms   "
        f"min {ms[0]:7.1f}   max {ms[-1]:7.1f}"
    )


async def measure(
    endpoints: Endpoints, users: int, outages: int, instances: int, home: Path
) -> None:
    prefix = f"f{secrets.token_hex(5)}"
    kafka = KafkaSettings(bootstrap=endpoints.kafka_bootstrap, topic_prefix=f"{prefix}.")
    mongo = MongoSettings(
        url=endpoints.mongo_url, database=prefix, postgres_url=endpoints.postgres_url
    )
    topics = TopicNames(kafka.topic_prefix)
    await ensure_topics(kafka.bootstrap, topics)
    await wait_until_visible(kafka.bootstrap, [topics("subscriptions"), topics("bot.actions")])
    nodes: list[Node] = []
    publisher = EventPublisher.from_settings(kafka, client_id="figures")
    workers: list[Program] = []
    try:
        nodes += [new_node(home / "nodes", name) for name in ("finland", "germany")]
        for node in nodes:
            node.start()
        for n in range(instances):
            workers.append(start_worker(kafka, mongo, prefix, nodes, home / f"worker-{n}"))
        partitions = TOPICS_BY_NAME["subscriptions"].partitions
        wait_for(lambda: share_every_partition(workers, partitions), timeout_s=60, step_s=0.2)
        with PageServer() as page:
            await provisioning(publisher, nodes, page, users, home)
            await open_connection(publisher, nodes, page, home)
        if outages:
            await after_outages(publisher, nodes, outages)
    finally:
        await publisher.close()
        for worker in workers:
            worker.stop()
        for node in nodes:
            node.stop()
        handle = database(mongo, app_name="figures")
        handle.client.drop_database(handle.name)
        handle.client.close()


def start_worker(
    kafka: KafkaSettings, mongo: MongoSettings, prefix: str, nodes: list[Node], home: Path
) -> Program:
    home.mkdir(parents=True)
    countries = home / "countries.json"
    write_countries(countries, nodes)
    env = {
        "KEYLAND_KAFKA_BOOTSTRAP": kafka.bootstrap,
        "KEYLAND_KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "KEYLAND_MONGO_URL": mongo.url,
        "KEYLAND_MONGO_DATABASE": mongo.database,
        "KEYLAND_MONGO_POSTGRES_URL": mongo.postgres_url,
        "KEYLAND_PROVISIONER_APP_ID": f"{prefix}-provisioner",
        "KEYLAND_PROVISIONER_DATA_DIR": str(home / "data"),
        "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
        "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(nodes),
    }  # the worker's own defaults otherwise: reconcile every 5 s, retries up to 5 s apart
    return Program("services.provisioner", env, home / "worker.log", args=["worker"]).start()


async def provisioning(
    publisher: EventPublisher, nodes: list[Node], page: PageServer, users: int, home: Path
) -> None:
    samples = [await provision_and_revoke(publisher, nodes, page, home) for _ in range(users + 1)]
    samples = samples[1:]  # the first one warms the worker up
    print(summary("TrialActivated → page through both nodes", [p for p, _ in samples]))
    print(summary("SubscriptionExpired → refused on both nodes", [r for _, r in samples]))


async def provision_and_revoke(
    publisher: EventPublisher, nodes: list[Node], page: PageServer, home: Path
) -> tuple[float, float]:
    user = User.new()
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    with contextlib.ExitStack() as stack:
        clients = [
            stack.enter_context(VlessClient(link(n, user), n.xray.build, home / "clients"))
            for n in nodes
        ]
        started = time.monotonic()
        await publish(publisher, user.registered(), user.trial(until))
        wait_for(lambda: all(c.can_fetch(page) for c in clients), timeout_s=60)
        provisioned = time.monotonic() - started
        started = time.monotonic()
        await publish(publisher, user.expired(until))
        wait_for(lambda: not any(c.can_fetch(page) for c in clients), timeout_s=30)
        return provisioned, time.monotonic() - started


async def open_connection(
    publisher: EventPublisher, nodes: list[Node], page: PageServer, home: Path
) -> None:
    user = User.new()
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    node = nodes[0]
    with VlessClient(link(node, user), node.xray.build, home / "clients") as client:
        await publish(publisher, user.registered(), user.trial(until))
        wait_for(lambda: client.can_fetch(page), timeout_s=60)
        connection = client.connect(page)
        try:
            connection.get()
            await publish(publisher, user.expired(until))
            wait_for(lambda: not client.can_fetch(page), timeout_s=30)
            outcomes = []
            revoked_at = time.monotonic()
            for after_s in (0, 5, 30):
                await asyncio.sleep(max(0.0, revoked_at + after_s - time.monotonic()))
                try:
                    outcomes.append((after_s, connection.get() == PAGE))
                except (ProxyRefused, OSError):
                    outcomes.append((after_s, False))
        finally:
            connection.close()
    told = ", ".join(f"{'still serves' if ok else 'cut'} after {s} s" for s, ok in outcomes)
    print(f"open keep-alive connection of a revoked user: {told}")


async def after_outages(publisher: EventPublisher, nodes: list[Node], outages: int) -> None:
    samples = [await one_outage(publisher, nodes) for _ in range(outages)]
    print(summary("node started again → key back on it", [s for s, _ in samples]))
    print(summary("node agent answering → key back on it", [a for _, a in samples]))
    print("(the first line includes the start-up of the node's Xray and agent)")


async def one_outage(publisher: EventPublisher, nodes: list[Node]) -> tuple[float, float]:
    finland, germany = nodes
    germany.stop()
    user = User.new()
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    await publish(publisher, user.registered(), user.trial(until))
    wait_for(lambda: user.key in keys_on(finland), timeout_s=60)
    await asyncio.sleep(8)  # a real outage: the worker's retries back off to their cap
    started = time.monotonic()
    germany.start()
    answering = time.monotonic()
    wait_for(lambda: user.key in keys_on(germany), timeout_s=60, step_s=0.02)
    done = time.monotonic()
    return done - started, done - answering


@cli.command()
def main(
    users: int = typer.Option(20, help="Users provisioned and revoked."),
    outages: int = typer.Option(3, help="Node outages to recover from."),
    instances: int = typer.Option(1, help="Provisioner workers in one consumer group."),
) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="provisioner-figures-") as home,
        real_endpoints() as endpoints,  # may start Kafka and the database: outside the loop
    ):
        asyncio.run(measure(endpoints, users, outages, instances, Path(home)))


if __name__ == "__main__":
    cli()
