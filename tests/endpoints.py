"""Where the tests find real Kafka and a real MongoDB-protocol database.

In order: endpoints given in the environment; containers when a Docker engine answers
(testcontainers); otherwise the project's own local stack from ``infra/`` (Kafka from
Maven Central jars, Debian's PostgreSQL 15, FerretDB built from the Go module proxy),
started if not running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.stack.ferretdb import FerretDB
from keyland_tools.stack.kafka import Kafka
from keyland_tools.stack.postgres import PostgreSQL
from keyland_tools.stack.settings import StackSettings


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    mongo_url: str
    postgres_url: str = ""  # the PostgreSQL under FerretDB; empty on MongoDB


def _docker_engine_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        subprocess.run([docker, "info"], check=True, capture_output=True, timeout=10)
    except (subprocess.SubprocessError, OSError):
        return False
    return True


@contextlib.contextmanager
def _containers() -> Iterator[Endpoints]:
    from testcontainers.community.kafka import KafkaContainer  # noqa: PLC0415 - Docker only
    from testcontainers.community.mongodb import MongoDbContainer  # noqa: PLC0415

    with (
        KafkaContainer("confluentinc/cp-kafka:8.0.0").with_kraft() as kafka,
        MongoDbContainer("mongo:7") as mongo,
    ):
        yield Endpoints(kafka.get_bootstrap_server(), mongo.get_connection_url())


@contextlib.contextmanager
def real_endpoints() -> Iterator[Endpoints]:
    """Yield endpoints of a real broker and database for the test session."""
    if os.environ.get("KEYLAND_KAFKA_BOOTSTRAP") and os.environ.get("KEYLAND_MONGO_URL"):
        yield Endpoints(
            os.environ["KEYLAND_KAFKA_BOOTSTRAP"],
            os.environ["KEYLAND_MONGO_URL"],
            os.environ.get("KEYLAND_MONGO_POSTGRES_URL", ""),
        )
    elif _docker_engine_answers():
        with _containers() as endpoints:
            yield endpoints
    else:
        kafka_settings, mongo_settings, stack = KafkaSettings(), MongoSettings(), StackSettings()
        postgres = PostgreSQL(stack)
        Kafka(stack, kafka_settings).start()
        postgres.start()
        FerretDB(stack, mongo_settings, postgres.url).start()
        yield Endpoints(kafka_settings.bootstrap, mongo_settings.url, postgres.url)
