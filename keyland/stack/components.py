"""The components of the local stack, in start order."""

from __future__ import annotations

from typing import Protocol

from keyland.settings import KafkaSettings, MongoSettings, StackSettings, load
from keyland.stack.ferretdb import FerretDB
from keyland.stack.kafka import Kafka
from keyland.stack.local_env import YOOKASSA_EMULATOR_PORT, emulating_yookassa, local_env
from keyland.stack.process import Daemon
from keyland.stack.services import PythonService


class Component(Protocol):
    daemon: Daemon

    def fetch(self) -> object: ...
    def start(self, timeout_s: float = ...) -> None: ...
    def ready(self) -> bool: ...
    def stop(self) -> bool: ...


def infrastructure() -> list[Component]:
    """Kafka and the database: what every service and integration test needs."""
    stack = load(StackSettings)
    return [
        Kafka(stack, load(KafkaSettings)),
        FerretDB(stack, load(MongoSettings)),
    ]


def everything() -> list[Component]:
    """The whole local stack: infrastructure, emulators where no real SaaS is configured,
    and every service."""
    stack = load(StackSettings)
    env = local_env(stack.state_dir)
    emulators: list[Component] = []
    if emulating_yookassa(env):
        emulators.append(
            PythonService(
                "yookassa-emulator", stack, "emulators.yookassa",
                args=[
                    "--port", str(YOOKASSA_EMULATOR_PORT),
                    "--shop-id", env["KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID"],
                    "--secret-key", env["KEYLAND_PAYMENTS_YOOKASSA_SECRET_KEY"],
                    "--webhook-url",
                    f"http://127.0.0.1:{env['KEYLAND_PAYMENTS_PORT']}/webhooks/yookassa",
                ],
                health_url=f"http://127.0.0.1:{YOOKASSA_EMULATOR_PORT}/emulator/webhook",
            )
        )  # fmt: skip
    services: list[Component] = [
        PythonService("subscription", stack, "services.subscription", args=["worker"], env=env),
        PythonService(
            "subscription-api", stack, "services.subscription", args=["api"], env=env,
            health_url=f"http://127.0.0.1:{env['KEYLAND_SUBSCRIPTION_API_PORT']}/health",
        ),
        PythonService(
            "payments-ingest", stack, "services.payments_ingest", env=env,
            health_url=f"http://127.0.0.1:{env['KEYLAND_PAYMENTS_PORT']}/health",
        ),
    ]  # fmt: skip
    return [*infrastructure(), *emulators, *services]
