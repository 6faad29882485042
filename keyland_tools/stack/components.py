"""The components of the local stack, in start order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from keyland.settings import KafkaSettings, MongoSettings, load
from keyland_tools.stack.ferretdb import FerretDB
from keyland_tools.stack.kafka import Kafka
from keyland_tools.stack.local_env import LOCAL_NODES, local_env
from keyland_tools.stack.node import Node
from keyland_tools.stack.postgres import PostgreSQL
from keyland_tools.stack.process import Daemon
from keyland_tools.stack.services import SupervisedServices
from keyland_tools.stack.settings import StackSettings


class Component(Protocol):
    daemon: Daemon

    def fetch(self) -> object: ...
    def start(self, timeout_s: float = ...) -> None: ...
    def ready(self) -> bool: ...
    def stop(self) -> bool: ...


def infrastructure(brokers: int | None = None) -> list[Component]:
    """Kafka (``brokers`` of them, see :class:`Kafka`) and the database (PostgreSQL,
    FerretDB on it): what every service and integration test needs. Kafka first:
    ``stack up`` creates the topics once it answers."""
    stack = load(StackSettings)
    postgres = PostgreSQL(stack)
    return [
        Kafka(stack, load(KafkaSettings), brokers),
        postgres,
        FerretDB(stack, load(MongoSettings), postgres.url),
    ]


def local_nodes(stack: StackSettings) -> list[Component]:
    """Two country nodes on loopback (real Xray + agent each), and the countries file
    naming them, unless the operator brought a countries file of their own."""
    env = local_env(stack)
    nodes = [
        Node(
            stack,
            country,
            vless_port=vless,
            api_port=api,
            agent_port=agent,
            token=env["KEYLAND_PROVISIONER_NODE_TOKEN"],
        )
        for country, vless, api, agent in LOCAL_NODES
    ]
    countries = Path(env["KEYLAND_PROVISIONER_COUNTRIES_FILE"])
    if countries == (stack.state_dir / "countries.json").resolve() and not countries.exists():
        countries.write_text(
            json.dumps({node.name: [node.url.removeprefix("http://")] for node in nodes}, indent=2)
        )
    return [part for node in nodes for part in node.components()]


def everything(brokers: int | None = None) -> list[Component]:
    """The whole local stack: infrastructure, two local nodes, the supervised services."""
    stack = load(StackSettings)
    return [*infrastructure(brokers), *local_nodes(stack), SupervisedServices(stack)]
