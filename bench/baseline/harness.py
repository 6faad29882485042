"""The baseline as the benchmarks run it: its own two country nodes (real Xray + our node
agent each, on free ports, in a temporary folder), its own database on the same server as
Keyland's, with the same PostgreSQL indexes under FerretDB that Keyland's collections get
(its lookups declared the way Keyland's adapters declare theirs), and the Flask process;
everything is removed again on exit."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient

from bench.measure import Agent
from keyland.indexes import Owned, ensure_indexes
from keyland.mongo import async_database
from keyland.settings import MongoSettings
from tests.nodes import start_node
from tests.processes import Program, free_port, wait_http


@dataclass(frozen=True)
class Baseline:
    url: str
    agents: list[Agent]
    pids: dict[str, int]


async def declare_lookups(mongo: MongoSettings) -> None:
    """The baseline reads, updates and deletes users by ``_id`` only: its ``users``
    collection gets the ``_id`` pushdown index Keyland's collections get (with
    ``mongo.postgres_url``; nothing more on MongoDB)."""
    db = async_database(mongo, app_name="bench-baseline")
    try:
        await ensure_indexes([Owned(db["users"])], mongo.postgres_url)
    finally:
        await db.client.close()


@asynccontextmanager
async def running_baseline(mongo: MongoSettings) -> AsyncIterator[Baseline]:
    """Start the baseline on private nodes; stop it, drop its database, remove its nodes."""
    database = f"keyland_bench_baseline_{uuid.uuid4().hex[:8]}"
    mongo_url = mongo.url
    with tempfile.TemporaryDirectory(prefix="keyland-baseline-") as folder:
        state = Path(folder)
        nodes = []
        program: Program | None = None
        try:
            for country in ("finland", "germany"):
                nodes.append(start_node(state, country))
            await declare_lookups(mongo.model_copy(update={"database": database}))
            agents = [
                Agent(n.name, n.url, n.agent.environment["KEYLAND_NODE_TOKEN"]) for n in nodes
            ]
            port = free_port()
            program = Program(
                "bench.baseline",
                env={},
                log_file=state / "baseline.log",
                args=[
                    "--port", str(port), "--mongo-url", mongo_url, "--database", database,
                    "--nodes", json.dumps({a.name: {"url": a.url, "token": a.token} for a in agents}),
                ],
            ).start()  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            wait_http(f"{url}/health", program)
            assert program.process is not None
            pids = {"baseline flask app": program.process.pid}
            for node in nodes:
                for daemon in (node.agent.daemon, node.xray.daemon):
                    if (pid := daemon.pid()) is not None:
                        pids[f"{daemon.name} (baseline)"] = pid
            yield Baseline(url, agents, pids)
        finally:
            if program is not None:
                program.stop()
            client: MongoClient[dict[str, object]] = MongoClient(mongo_url)
            client.drop_database(database)
            client.close()
            for node in nodes:
                node.stop()
