"""Where the tests find real Kafka and a real MongoDB-protocol database.

``KEYLAND_TEST_CONTAINERS=1`` asks for containers (testcontainers: Kafka and ``mongo:7``,
so the suite runs against real MongoDB) and skips, saying why, where no Docker engine
answers. Otherwise: endpoints given in the environment, else the project's own local
stack from ``infra/`` (Kafka from Maven Central jars, Debian's PostgreSQL 15, FerretDB
built from the Go module proxy), started if not running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from keyland.settings import KafkaSettings, MongoSettings
from keyland_tools.stack.ferretdb import FerretDB
from keyland_tools.stack.kafka import Kafka
from keyland_tools.stack.postgres import PostgreSQL
from keyland_tools.stack.settings import StackSettings

# Opt-in: the suite against containers (Kafka, mongo:7) where a Docker engine answers.
CONTAINERS = "KEYLAND_TEST_CONTAINERS"


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
def _environment(endpoints: Endpoints) -> Iterator[None]:
    """Point the variables our services and tools read at ``endpoints`` meanwhile."""
    wanted = {
        "KEYLAND_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "KEYLAND_MONGO_URL": endpoints.mongo_url,
        "KEYLAND_MONGO_POSTGRES_URL": endpoints.postgres_url,
    }
    before = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def real_endpoints() -> Iterator[Endpoints]:
    """Yield endpoints of a real broker and database for the test session."""
    if os.environ.get(CONTAINERS) == "1":
        if not _docker_engine_answers():
            pytest.skip(f"{CONTAINERS}=1 asks for Kafka and mongo:7 in Docker: no Docker engine")
        with _containers() as endpoints, _environment(endpoints):
            yield endpoints
    elif os.environ.get("KEYLAND_KAFKA_BOOTSTRAP") and os.environ.get("KEYLAND_MONGO_URL"):
        yield Endpoints(
            os.environ["KEYLAND_KAFKA_BOOTSTRAP"],
            os.environ["KEYLAND_MONGO_URL"],
            os.environ.get("KEYLAND_MONGO_POSTGRES_URL", ""),
        )
    else:
        kafka_settings, mongo_settings, stack = KafkaSettings(), MongoSettings(), StackSettings()
        postgres = PostgreSQL(stack)
        Kafka(stack, kafka_settings).start()
        postgres.start()
        FerretDB(stack, mongo_settings, postgres.url).start()
        yield Endpoints(kafka_settings.bootstrap, mongo_settings.url, postgres.url)
