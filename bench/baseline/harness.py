"""The baseline as the benchmarks run it: its own two country nodes (real Xray + our node
agent each, on free ports, in a temporary folder), its own database, and the Flask
process; everything is removed again on exit."""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient

from bench.measure import Agent
from tests.nodes import start_node
from tests.processes import Program, free_port, wait_http


@dataclass(frozen=True)
class Baseline:
    url: str
    agents: list[Agent]
    pids: dict[str, int]


@contextmanager
def running_baseline(mongo_url: str) -> Iterator[Baseline]:
    """Start the baseline on private nodes; stop it, drop its database, remove its nodes."""
    database = f"keyland_bench_baseline_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="keyland-baseline-") as folder:
        state = Path(folder)
        nodes = []
        program: Program | None = None
        try:
            for country in ("finland", "germany"):
                nodes.append(start_node(state, country))
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
