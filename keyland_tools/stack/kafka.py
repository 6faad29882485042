"""Apache Kafka in KRaft mode from Maven Central jars: one combined broker + controller,
or a cluster of them (``keyland stack up --brokers 3``), every one a voter of the quorum."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from string import Template

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from keyland.kafka.topics import min_insync_for, replication_for
from keyland.settings import KafkaSettings
from keyland_tools.stack.kafka_layout import BrokerPlace, LayoutError, broker_places
from keyland_tools.stack.process import Daemon, StartError
from keyland_tools.stack.settings import StackSettings

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra" / "kafka"


@dataclass(frozen=True)
class ClusterRecord:
    """What formatting fixed for good: the cluster id and each voter's directory id."""

    cluster_id: str
    directory_ids: tuple[str, ...]

    @property
    def brokers(self) -> int:
        return len(self.directory_ids)


class Broker:
    """One broker + controller process: its listeners, data and daemon."""

    def __init__(self, stack: StackSettings, place: BrokerPlace) -> None:
        # Broker 1 keeps the names a one-broker stack always had (var/kafka, kafka.pid).
        name = "kafka" if place.node_id == 1 else f"kafka-{place.node_id}"
        self.place = place
        self.home = stack.state_dir / name
        self.daemon = Daemon(name, stack.state_dir / "run", stack.state_dir / "log")

    @property
    def data(self) -> Path:
        return (self.home / "data").resolve()

    def formatted(self) -> bool:
        return (self.data / "meta.properties").exists()

    def kill(self) -> None:
        """SIGKILL, as a crash would: no controlled shutdown."""
        self.daemon.kill()


class Kafka:
    """Obtains, formats, starts and stops the local brokers.

    How many: what the state directory was formatted for; on a fresh one ``brokers``
    (``stack up --brokers``), else ``KEYLAND_KAFKA_BROKERS`` (1). Asking for another
    count than the data holds is refused: the quorum's voters are fixed at formatting.
    """

    def __init__(
        self, stack: StackSettings, kafka: KafkaSettings, brokers: int | None = None
    ) -> None:
        self.stack = stack
        self.record_file = stack.state_dir / "kafka" / "cluster.json"
        self.record = self._recorded()
        if brokers is None and "kafka_brokers" in stack.model_fields_set:
            brokers = stack.kafka_brokers
        self.asked = brokers
        count = self.record.brokers if self.record else (brokers or stack.kafka_brokers)
        try:
            places = broker_places(kafka.bootstrap, stack.kafka_controller_port, count)
        except LayoutError as error:
            raise StartError(str(error)) from error
        self.brokers = [Broker(stack, place) for place in places]
        self.bootstrap = ",".join(place.address for place in places)
        # The component's name and log for `stack up/status`: the first broker's.
        self.daemon = self.brokers[0].daemon

    @property
    def libs(self) -> Path:
        return self.stack.cache_dir / f"kafka-{self.stack.kafka_version}" / "libs"

    def fetch(self) -> Path:
        """Resolve the broker jars with Maven into the cache (once per version)."""
        done = self.libs / ".complete"
        if done.exists():
            return self.libs
        staging = self.libs.with_name("libs.partial")
        shutil.rmtree(staging, ignore_errors=True)
        maven = shutil.which("mvn")
        if maven is None:
            raise StartError("Maven (mvn) is needed to resolve the Kafka jars")
        subprocess.run(  # noqa: S603 - fixed argv
            [
                maven,
                "-q",
                "-B",
                "-f",
                str(INFRA_DIR / "pom.xml"),
                f"-Dkafka.version={self.stack.kafka_version}",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ],
            check=True,
        )
        shutil.rmtree(self.libs, ignore_errors=True)
        staging.rename(self.libs)
        done.touch()
        return self.libs

    def _java(self, broker: Broker, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise StartError("Java 17+ is needed to run Kafka")
        return [
            java,
            "-cp",
            f"{self.libs}/*",
            f"-Dlog4j2.configurationFile={INFRA_DIR / 'log4j2.yaml'}",
            f"-Dkafka.logs.dir={broker.daemon.log_dir / broker.daemon.name}",
            *args,
        ]

    def _recorded(self) -> ClusterRecord | None:
        """The formatted cluster, if any. A one-broker stack formatted before the record
        existed has data but no record: it is a one-broker cluster."""
        if self.record_file.exists():
            saved = json.loads(self.record_file.read_text())
            return ClusterRecord(saved["cluster_id"], tuple(saved["directory_ids"]))
        if (self.record_file.parent / "data" / "meta.properties").exists():
            return ClusterRecord("", ("",))  # formatted already: the ids are not needed
        return None

    def _record(self) -> ClusterRecord:
        """The cluster's ids, invented and written down before the first broker is formatted."""
        if self.record is None:
            self.record = ClusterRecord(_kafka_uuid(), tuple(_kafka_uuid() for _ in self.brokers))
            self.record_file.parent.mkdir(parents=True, exist_ok=True)
            self.record_file.write_text(
                json.dumps(
                    {
                        "cluster_id": self.record.cluster_id,
                        "directory_ids": list(self.record.directory_ids),
                    }
                )
            )
        return self.record

    def _configure(self, broker: Broker) -> Path:
        """Render the broker's server.properties and format its storage on first start."""
        config = broker.home / "server.properties"
        broker.home.mkdir(parents=True, exist_ok=True)
        replication = replication_for(len(self.brokers))
        template = Template((INFRA_DIR / "server.properties").read_text())
        config.write_text(
            template.substitute(
                node_id=broker.place.node_id,
                broker_address=broker.place.address,
                controller_address=broker.place.controller,
                quorum=",".join(b.place.controller for b in self.brokers),
                data_dir=broker.data,
                replication=replication,
                min_insync=min_insync_for(replication),
            )
        )
        if not broker.formatted():
            record = self._record()
            # Every node is formatted with the same voters: id@host:port:directory id.
            voters = ",".join(
                f"{b.place.node_id}@{b.place.controller}:{directory}"
                for b, directory in zip(self.brokers, record.directory_ids, strict=True)
            )
            subprocess.run(  # noqa: S603 - fixed argv
                self._java(
                    broker,
                    "kafka.tools.StorageTool",
                    "format",
                    "--cluster-id",
                    record.cluster_id,
                    "--initial-controllers",
                    voters,
                    "--config",
                    str(config),
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        return config

    def launch(self, broker: Broker) -> None:
        """Start one broker's process unless it runs; waits for nothing (a quorum of
        several needs the others started before any answers)."""
        if broker.daemon.pid() is None:
            config = self._configure(broker)
            broker.daemon.start(
                self._java(
                    broker,
                    f"-Xmx{self.stack.kafka_heap}",
                    "-Xms128m",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    "kafka.Kafka",
                    str(config),
                )
            )

    def start(self, timeout_s: float = 90.0) -> None:
        """Start every broker that does not run, and wait until each one sees them all."""
        if self.record is not None and self.asked not in (None, self.record.brokers):
            raise StartError(
                f"Kafka's data in {self.stack.state_dir} is formatted for "
                f"{self.record.brokers} broker(s), not {self.asked}: `keyland stack down`, "
                f"remove {self.stack.state_dir}/kafka*, then start again"
            )
        self.fetch()
        if not all(broker.formatted() for broker in self.brokers):
            self._record()
        with ThreadPoolExecutor(len(self.brokers)) as pool:  # each formats in a JVM of its own
            list(pool.map(self.launch, self.brokers))
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            for broker in self.brokers:
                if broker.daemon.pid() is None:
                    raise StartError(
                        f"{broker.daemon.name} exited during start-up; see {broker.daemon.log_file}"
                    )
            if time.monotonic() > deadline:
                raise StartError(
                    f"Kafka not ready after {timeout_s:.0f}s; see {self.daemon.log_dir}/kafka*.log"
                )
            time.sleep(0.2)

    def ready(self) -> bool:
        """True when every broker answers and lists all the cluster's brokers."""
        wanted = {broker.place.node_id for broker in self.brokers}
        return all(
            asyncio.run(brokers_seen(broker.place.address)) == wanted for broker in self.brokers
        )

    def stop(self) -> bool:
        """Stop every broker at once: stopped one by one, the last ones would wait for a
        quorum that is already gone."""
        with ThreadPoolExecutor(len(self.brokers)) as pool:
            stopped = list(pool.map(lambda b: b.daemon.stop(timeout_s=30.0), self.brokers))
        return any(stopped)

    def describe(self) -> list[str]:
        """One line per broker, for ``stack status``."""
        lines = []
        for broker in self.brokers:
            pid = broker.daemon.pid()
            state = f"pid {pid}" if pid else "stopped"
            lines.append(f"  broker {broker.place.node_id} {broker.place.address}: {state}")
        return lines


async def brokers_seen(address: str) -> set[int]:
    """The node ids of the brokers the broker at ``address`` lists (empty if it does not
    answer)."""
    host, _, port = address.rpartition(":")
    try:  # a closed port is the common case while starting; skip the client's error log
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return set()
    writer.close()
    await writer.wait_closed()
    admin = AIOKafkaAdminClient(bootstrap_servers=address, request_timeout_ms=3000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
    except (KafkaError, OSError):
        return set()
    finally:
        await admin.close()
    return {int(broker["node_id"]) for broker in cluster.get("brokers", [])}


def _kafka_uuid() -> str:
    """A Kafka id (cluster or directory): 16 random bytes, URL-safe base64 without padding,
    never starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text
