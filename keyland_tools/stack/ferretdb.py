"""FerretDB v1 on the local PostgreSQL, built from the Go module proxy by our tiny Go main."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from keyland.mongo import UPDATES_PER_COMMAND
from keyland.settings import MongoSettings
from keyland_tools.stack.local_env import LOCAL_NODES
from keyland_tools.stack.process import Daemon, StartError
from keyland_tools.stack.settings import StackSettings

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra" / "ferretdb"
FERRETDB_VERSION = "v1.24.2"


class FerretDB:
    """Builds (once), starts and stops the local MongoDB-protocol database."""

    def __init__(self, stack: StackSettings, mongo: MongoSettings, postgres_url: str) -> None:
        self.stack = stack
        self.url = mongo.url
        self.listen = _host_port(mongo.url)
        self.postgres_url = postgres_url
        self.max_pool_size = mongo.max_pool_size
        self.daemon = Daemon("ferretdb", stack.state_dir / "run", stack.state_dir / "log")

    @property
    def binary(self) -> Path:
        # Keyed by our main's sources too: a changed main is rebuilt, not taken from the cache.
        sources = hashlib.sha256()
        for name in ("main.go", "go.mod", "go.sum"):
            sources.update((INFRA_DIR / name).read_bytes())
        build = f"ferretdb-{FERRETDB_VERSION}-{sources.hexdigest()[:12]}"
        return self.stack.cache_dir / build / "keyland-ferretdb"

    def fetch(self) -> Path:
        """Build our FerretDB main with the machine's Go (modules from the proxy)."""
        if self.binary.exists():
            return self.binary
        go = shutil.which("go")
        if go is None:
            raise StartError("Go is needed to build FerretDB")
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        partial = self.binary.with_suffix(".partial")
        subprocess.run(  # noqa: S603 - fixed argv
            [go, "build", "-trimpath", "-o", str(partial.resolve()), "."],
            cwd=INFRA_DIR,
            check=True,
            env={**os.environ, "CGO_ENABLED": "0"},
        )
        partial.rename(self.binary)
        return self.binary

    def start(self, timeout_s: float = 30.0) -> None:
        """Start FerretDB unless it runs already, and wait until it answers a ping (a ping
        reaches its PostgreSQL, so ready means both answer)."""
        check_pool_budget(self.max_pool_size)
        if self.daemon.pid() is None:
            binary = self.fetch()
            self.daemon.start(
                [
                    str(binary),
                    f"-listen-addr={self.listen}",
                    f"-postgresql-url={pooled(self.postgres_url)}",
                ]
            )
        self.daemon.wait_ready(self.ready, timeout_s)

    def ready(self) -> bool:
        client: MongoClient[dict[str, object]] = MongoClient(
            self.url, serverSelectionTimeoutMS=1000
        )
        try:
            client.admin.command("ping")
        except PyMongoError:
            return False
        finally:
            client.close()
        return True

    def stop(self) -> bool:
        return self.daemon.stop()


def _host_port(url: str) -> str:
    """``mongodb://host:port/...`` → ``host:port`` (the address FerretDB listens on)."""
    rest = url.split("://", 1)[1]
    hosts = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if "," in hosts:
        raise StartError("the local FerretDB listens on one address; KEYLAND_MONGO_URL has several")
    return hosts if ":" in hosts else f"{hosts}:27017"


FERRETDB_POOL = 200
"""FerretDB's PostgreSQL pool (its default is 50).

FerretDB v1 runs an update as a query whose rows stay open while the write takes a second
pooled connection (``common.UpdateDocument`` calls ``UpdateAll`` inside the query's
iteration), and an ``update`` command of several statements keeps every statement's query
open until the command ends. Once every pooled connection is held that way, each waits for
another forever: every backend idle in ClientRead, even ``ping`` unanswered (seen here,
once from a single command of 200 replacements). No deadlock is possible while the
connections asked for at once stay below the pool: each client operation holds one, and a
bulk update command at most :data:`keyland.mongo.UPDATES_PER_COMMAND`. So the clients' own
pools and the bulk writers are the budget: see :func:`check_pool_budget`."""

SERVICE_PROCESSES = 7
"""The local stack's processes that open a database pool: the bot, the payments ingest,
the subscription worker and its read API, the provisioner worker and its API, the
notifier (checked against the stack's service list by a test)."""

RESERVED_FOR_TOOLS = 64
"""Connections left for what runs beside the services: the CLI, tests, benchmarks and the
benchmarks' baseline (which caps its pymongo pool at 48)."""


BULK_UPDATES = len(LOCAL_NODES) * (UPDATES_PER_COMMAND - 1)
"""What bulk update commands add beyond one connection each: the provisioner's node loops
(one per local node) each send their bulks one after another; no other service sends
update commands of several statements."""


def check_pool_budget(max_pool_size: int) -> None:
    """Refuse a per-process pool that lets the services, with the bulk writers and the
    tools' reserve, ask FerretDB for more connections at once than its pool holds."""
    asked = max_pool_size * SERVICE_PROCESSES + BULK_UPDATES + RESERVED_FOR_TOOLS
    if asked >= FERRETDB_POOL:
        largest = (FERRETDB_POOL - RESERVED_FOR_TOOLS - BULK_UPDATES - 1) // SERVICE_PROCESSES
        raise StartError(
            f"KEYLAND_MONGO_MAX_POOL_SIZE={max_pool_size} is too large for the local FerretDB: "
            f"{SERVICE_PROCESSES} services x {max_pool_size} + {BULK_UPDATES} for bulk updates "
            f"+ {RESERVED_FOR_TOOLS} for tools "
            f"= {asked} operations at once, and its PostgreSQL pool holds {FERRETDB_POOL} "
            f"(FerretDB v1 stops answering when every pooled connection waits for another); "
            f"use at most {largest}"
        )


def pooled(postgres_url: str) -> str:
    """The URL with FerretDB's PostgreSQL pool raised to :data:`FERRETDB_POOL`."""
    if "pool_max_conns=" in postgres_url:
        return postgres_url
    return f"{postgres_url}{'&' if '?' in postgres_url else '?'}pool_max_conns={FERRETDB_POOL}"
