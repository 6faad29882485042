"""Apache Kafka in KRaft mode from Maven Central jars, one combined broker + controller."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
import uuid
from pathlib import Path
from string import Template

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from keyland.settings import KafkaSettings
from keyland_tools.stack.process import Daemon, StartError
from keyland_tools.stack.settings import StackSettings

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra" / "kafka"


class Kafka:
    """Obtains, formats, starts and stops the local broker."""

    def __init__(self, stack: StackSettings, kafka: KafkaSettings) -> None:
        self.stack = stack
        self.bootstrap = kafka.bootstrap
        host, _, _ = kafka.bootstrap.rpartition(":")
        self.controller = f"{host}:{stack.kafka_controller_port}"
        self.home = stack.state_dir / "kafka"
        self.daemon = Daemon("kafka", stack.state_dir / "run", stack.state_dir / "log")

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

    def _java(self, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise StartError("Java 17+ is needed to run Kafka")
        return [
            java,
            "-cp",
            f"{self.libs}/*",
            f"-Dlog4j2.configurationFile={INFRA_DIR / 'log4j2.yaml'}",
            f"-Dkafka.logs.dir={self.daemon.log_dir / 'kafka'}",
            *args,
        ]

    def _configure(self) -> Path:
        """Render server.properties and format the storage on first start."""
        data = (self.home / "data").resolve()
        config = self.home / "server.properties"
        self.home.mkdir(parents=True, exist_ok=True)
        template = Template((INFRA_DIR / "server.properties").read_text())
        config.write_text(
            template.substitute(
                broker_address=self.bootstrap,
                controller_address=self.controller,
                data_dir=data,
            )
        )
        if not (data / "meta.properties").exists():
            subprocess.run(  # noqa: S603 - fixed argv
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    _cluster_id(),
                    "-c",
                    str(config),
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        return config

    def start(self, timeout_s: float = 90.0) -> None:
        """Start the broker unless it runs already, and wait until it answers."""
        if self.daemon.pid() is None:
            self.fetch()
            config = self._configure()
            self.daemon.start(
                self._java(
                    f"-Xmx{self.stack.kafka_heap}",
                    "-Xms128m",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    "kafka.Kafka",
                    str(config),
                )
            )
        self.daemon.wait_ready(self.ready, timeout_s)

    def ready(self) -> bool:
        """True when the broker answers a metadata request."""
        return asyncio.run(kafka_answers(self.bootstrap))

    def stop(self) -> bool:
        return self.daemon.stop(timeout_s=30.0)


async def kafka_answers(bootstrap: str) -> bool:
    """A real client call: can we list the cluster's brokers?"""
    host, _, port = bootstrap.split(",", maxsplit=1)[0].rpartition(":")
    try:  # a closed port is the common case while starting; skip the client's error log
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
    except (KafkaError, OSError):
        return False
    finally:
        await admin.close()
    return bool(cluster.get("brokers"))


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64, never starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text
