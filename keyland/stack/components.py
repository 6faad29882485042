"""The components of the local stack, in start order."""

from __future__ import annotations

from typing import Protocol

from keyland.settings import KafkaSettings, MongoSettings, StackSettings, load
from keyland.stack.ferretdb import FerretDB
from keyland.stack.kafka import Kafka
from keyland.stack.process import Daemon
from keyland.stack.services import SupervisedServices


class Component(Protocol):
    daemon: Daemon

    def fetch(self) -> object: ...
    def start(self, timeout_s: float = ...) -> None: ...
    def ready(self) -> bool: ...
    def stop(self) -> bool: ...


def infrastructure() -> list[Component]:
    """Kafka and the database: what every service and integration test needs."""
    stack = load(StackSettings)
    return [Kafka(stack, load(KafkaSettings)), FerretDB(stack, load(MongoSettings))]


def everything() -> list[Component]:
    """The whole local stack: infrastructure, then the supervised services."""
    return [*infrastructure(), SupervisedServices(load(StackSettings))]
