"""Every real part of a fault run, started in order and stopped in reverse.

A private Kafka broker, or a private cluster of several (their own ports and data
directories, so restarting one disturbs no other test), the shared MongoDB-protocol
database under a database of the run's own, two real nodes (Xray + agent), the YooKassa
emulator, and our payments ingest and one or more instances each of the subscription
worker and the provisioner worker (one consumer group per worker) as real child
processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

from pymongo.database import Database

from events.registry import TopicNames
from keyland.kafka.topics import ensure_topics
from keyland.mongo import Document, database
from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.stack.kafka import Kafka
from keyland_tools.stack.settings import StackSettings
from tests.processes import Program, free_port, wait_http
from tests.provisioning import new_node, node_tokens, write_countries

SHOP, SHOP_SECRET = "100500", "fault-run-shop-secret"
INGEST_TOKEN = "fault-run-internal-token"
WORKERS = ("subscription", "provisioner")

# YooKassa redelivers anything but 200 for a day; here for a few minutes (pauses double
# from 0.25 s up to 10 s), long enough to outlast a broker restart, with a timeout a
# loaded ingest can meet.
REDELIVERY = ["--delivery-attempts", "25", "--delivery-base-delay", "0.25"]
REDELIVERY += ["--delivery-timeout", "15"]


def instance_names(worker: str, instances: int) -> list[str]:
    """The names of ``worker``'s instances in a run (its own name when it runs alone)."""
    return [worker] if instances == 1 else [f"{worker}-{n}" for n in range(instances)]


class Rig:
    """The parts of one run; ``with Rig(...) as rig`` starts them and always stops them."""

    def __init__(
        self,
        work: Path,
        mongo_url: str,
        postgres_url: str,
        *,
        brokers: int = 1,
        instances: int = 1,
    ) -> None:
        self.work = work
        self.name = f"f{uuid.uuid4().hex[:10]}"
        self.instances = instances
        stack = StackSettings(
            state_dir=work / "kafka",
            kafka_controller_port=free_port(),
            kafka_heap="384m" if brokers > 1 else "512m",
        )
        bootstrap = ",".join(f"127.0.0.1:{free_port()}" for _ in range(brokers))
        self.kafka = Kafka(stack, KafkaSettings(bootstrap=bootstrap), brokers=brokers)
        self.topics = TopicNames(f"{self.name}.")
        self.mongo = MongoSettings(url=mongo_url, database=self.name, postgres_url=postgres_url)
        self.nodes = [new_node(work / "nodes", name) for name in ("finland", "germany")]
        self.emulator_url = f"http://127.0.0.1:{free_port()}"
        self.ingest_url = f"http://127.0.0.1:{free_port()}"
        self.programs: dict[str, Program] = {}
        self._stack = contextlib.ExitStack()

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap

    def db(self) -> Database[Document]:
        """A handle on the run's database (close its client when done)."""
        return database(self.mongo, app_name=f"{self.name}-checks")

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()

    def _start(self) -> None:
        stack = self._stack
        stack.callback(self._drop_database)
        stack.callback(self.kafka.stop)
        self.kafka.start()
        asyncio.run(ensure_topics(self.bootstrap, self.topics))
        for node in self.nodes:
            stack.callback(node.stop)
            node.start()
        countries = self.work / "countries.json"
        write_countries(countries, self.nodes)
        logs = self.work / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        emulator = Program(
            "emulators.yookassa",
            {},
            logs / "yookassa.log",
            args=[
                *("--port", self.emulator_url.rsplit(":", 1)[1], "--log-level", "warning"),
                *("--shop-id", SHOP, "--secret-key", SHOP_SECRET),
                *("--webhook-url", f"{self.ingest_url}/webhooks/yookassa", *REDELIVERY),
            ],
        )
        stack.callback(emulator.stop)
        emulator.start()
        wait_http(f"{self.emulator_url}/emulator/webhook", emulator)
        env = self._environment(countries)
        self.programs = {"ingest": Program("services.payments_ingest", env, logs / "ingest.log")}
        for worker in WORKERS:
            for name in instance_names(worker, self.instances):
                own = {
                    f"KEYLAND_{worker.upper()}_DATA_DIR": str(self.work / name),
                    f"KEYLAND_{worker.upper()}_INSTANCE": name,
                }
                self.programs[name] = Program(
                    f"services.{worker}", {**env, **own}, logs / f"{name}.log", args=["worker"]
                )
        for program in self.programs.values():
            stack.callback(program.stop)
            program.start()
        wait_http(f"{self.ingest_url}/health", self.programs["ingest"])

    def _environment(self, countries: Path) -> dict[str, str]:
        return {
            "KEYLAND_KAFKA_BOOTSTRAP": self.bootstrap,
            "KEYLAND_KAFKA_TOPIC_PREFIX": self.topics.prefix,
            "KEYLAND_KAFKA_PUBLISH_TIMEOUT_S": "3",
            "KEYLAND_MONGO_URL": self.mongo.url,
            "KEYLAND_MONGO_DATABASE": self.mongo.database,
            "KEYLAND_MONGO_POSTGRES_URL": self.mongo.postgres_url,
            "KEYLAND_SUBSCRIPTION_APP_ID": f"{self.name}-subscription",
            "KEYLAND_SUBSCRIPTION_DATA_DIR": str(self.work / "subscription"),
            "KEYLAND_SUBSCRIPTION_KEY_SECRET": secrets.token_urlsafe(32),
            "KEYLAND_PAYMENTS_PORT": self.ingest_url.rsplit(":", 1)[1],
            "KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID": SHOP,
            "KEYLAND_PAYMENTS_YOOKASSA_SECRET_KEY": SHOP_SECRET,
            "KEYLAND_PAYMENTS_YOOKASSA_API_URL": f"{self.emulator_url}/v3",
            "KEYLAND_PAYMENTS_YOOKASSA_TIMEOUT_S": "10",
            "KEYLAND_PAYMENTS_EXTRA_TRUSTED_NETWORKS": '["127.0.0.1/32"]',
            "KEYLAND_PAYMENTS_INTERNAL_TOKEN": INGEST_TOKEN,
            "KEYLAND_PROVISIONER_APP_ID": f"{self.name}-provisioner",
            "KEYLAND_PROVISIONER_DATA_DIR": str(self.work / "provisioner"),
            "KEYLAND_PROVISIONER_COUNTRIES_FILE": str(countries),
            "KEYLAND_PROVISIONER_NODE_TOKENS": node_tokens(self.nodes),
            "KEYLAND_PROVISIONER_RECONCILE_INTERVAL_S": "5",
            "KEYLAND_PROVISIONER_RETRY_MAX_S": "2",
            "KEYLAND_PROVISIONER_SUBSCRIPTION_SECRET": secrets.token_urlsafe(32),
        }

    def restart_broker(self, downtime_s: float, rng: random.Random) -> str:
        """Alone, the broker is stopped (SIGTERM); in a cluster, one broker drawn by
        ``rng`` is SIGKILLed, as a crash would. Then, after ``downtime_s``, started again
        on the same ports and data; which broker it was."""
        if len(self.kafka.brokers) == 1:
            self.kafka.stop()
            time.sleep(downtime_s)
            self.kafka.start()
            return self.kafka.brokers[0].daemon.name
        broker = rng.choice(self.kafka.brokers)
        broker.kill()
        time.sleep(downtime_s)
        self.kafka.start()  # starts the one that does not run, waits until all see each other
        return broker.daemon.name

    def _drop_database(self) -> None:
        db = self.db()
        try:
            db.client.drop_database(self.name)
        finally:
            db.client.close()
