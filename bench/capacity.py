"""The load run: how many active users a node holds and which resource saturates first.

Through both local nodes (``make up``), on loopback only, with real VLESS clients (an Xray
client process per user, ``keyland_tools.stack.vless_client``):

1. ``max(LEVELS)`` fresh keys are enabled on each node through its agent (removed at the end);
2. at each level of active users per node, every active user fetches a page over its own
   VLESS connection at a steady ``--user-mbps`` (a user watching video), both nodes at once;
3. over ``--window`` seconds of each level, each node's Xray is read as its agent reads
   it (``services.node_agent.adapters.host_load``): CPU in cores, resident memory, users'
   bytes per second;
4. per node, each resource's use is fitted against active users (``keyland.capacity``) and
   met with the node's limits: this machine's cores and memory, and a link of
   ``--link-mbps`` (loopback has none of its own);
5. the report, with the cost per active user at ``--monthly-price`` per node, is written to
   ``bench/reports/capacity.{json,md,png}`` (``keyland capacity`` reads the JSON).

Run: ``.venv/bin/python -m bench.capacity [--user-mbps 1] [--window 8] [--monthly-price 5]``.
About two minutes; it leaves the stack's own users alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx

from bench.local import LocalStack
from keyland.capacity import Level, Limits, capacity
from keyland.load_run import NodeReport, Report
from keyland.settings import load
from keyland_tools.capacity_report import chart_png, render_markdown
from keyland_tools.stack.local_env import LOCAL_NODES
from keyland_tools.stack.node import OfficialXray, XrayBuild
from keyland_tools.stack.settings import StackSettings
from keyland_tools.stack.vless_client import PAGE, PageServer, ProxyRefused, VlessClient
from services.node_agent.adapters.host_load import XrayProcess, host_limits
from services.node_agent.adapters.xray_api import XrayApi
from services.node_agent.domain.load import load_between

LEVELS = (1, 2, 4, 8)
REPORTS = Path(__file__).resolve().parent / "reports"
COMMAND = ".venv/bin/python -m bench.capacity"
# Each active user's pace (Mbit/s), seconds measured per level, a node's link (Mbit/s),
# a node's monthly price: what `make bench` runs with.
DEFAULTS = (1.0, 8.0, 1000.0, Decimal("5.00"))


class ActiveUser(threading.Thread):
    """One user pulling pages over one VLESS connection at ``rate_bps`` until stopped."""

    def __init__(self, client: VlessClient, page: PageServer, rate_bps: float) -> None:
        super().__init__(daemon=True)
        self.client, self.page = client, page
        self.interval_s = len(PAGE) / rate_bps
        self.stopping = threading.Event()
        self.failures = 0

    def run(self) -> None:
        connection = self.client.connect(self.page)
        try:
            next_at = time.monotonic()
            while not self.stopping.is_set():
                try:
                    connection.get()
                except (ProxyRefused, OSError):
                    self.failures += 1
                    connection.close()
                    connection = self.client.connect(self.page)
                next_at = max(next_at + self.interval_s, time.monotonic() - 1.0)
                self.stopping.wait(max(0.0, next_at - time.monotonic()))
        finally:
            connection.close()


async def measure(
    probes: dict[str, XrayProcess], window_s: float
) -> dict[str, tuple[float, int, float]]:
    """Each node's (cores, memory bytes, bytes per second) over ``window_s``."""
    before = {name: await probe.snapshot() for name, probe in probes.items()}
    await asyncio.sleep(window_s)
    figures = {}
    for name, probe in probes.items():
        load = load_between(before[name], await probe.snapshot())
        figures[name] = (load.cpu_cores, load.memory_bytes, load.throughput_bps)
    return figures


@dataclass(frozen=True)
class NodeUnderLoad:
    """A node as the load run reaches it: its agent (to enable keys) and Xray's API port."""

    name: str
    agent_url: str
    token: str
    api_port: int

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def local_nodes() -> tuple[list[NodeUnderLoad], XrayBuild]:
    """The local stack's two nodes (``make up``) and the Xray build its clients run."""
    local = LocalStack.load()
    api_ports = {country: api for country, _, api, _ in LOCAL_NODES}
    nodes = [NodeUnderLoad(a.name, a.url, a.token, api_ports[a.name]) for a in local.agents]
    return nodes, OfficialXray(local.stack.cache_dir)


async def _switch(
    http: httpx.AsyncClient, node: NodeUnderLoad, keys: list[str], on: bool
) -> list[str]:
    """Enable or disable ``keys`` on ``node``; the links of the enabled ones."""
    batch = {"enable": keys, "disable": []} if on else {"enable": [], "disable": keys}
    answer = await http.patch(f"{node.agent_url}/v1/users", json=batch, headers=node.auth())
    answer.raise_for_status()
    return [answer.json()["enabled"][key] for key in keys] if on else []


async def run(
    nodes: list[NodeUnderLoad],
    xray_build: XrayBuild,
    home: Path,
    settings: tuple[float, float, float, Decimal],
    levels: tuple[int, ...] = LEVELS,
) -> Report:
    """The load run over ``nodes``, with the clients' files under ``home``."""
    user_mbps, window_s, link_mbps, price = settings
    cores, memory = host_limits()
    limits = Limits(cpu_cores=cores, memory_bytes=memory, network_bps=link_mbps * 1e6 / 8)
    keys = {node.name: [str(uuid.uuid4()) for _ in range(max(levels))] for node in nodes}
    measured: dict[str, list[Level]] = {node.name: [] for node in nodes}
    failures = 0
    xrays = {
        n.name: XrayApi.from_address(f"127.0.0.1:{n.api_port}", inbound_tag="vless-in")
        for n in nodes
    }
    probes = {n.name: XrayProcess(xrays[n.name], n.api_port) for n in nodes}
    async with httpx.AsyncClient(timeout=10) as http:
        try:
            links = {
                node.name: await _switch(http, node, keys[node.name], on=True) for node in nodes
            }
            with PageServer() as page, ExitStack() as clients:
                users: dict[str, list[ActiveUser]] = {}
                for name, node_links in links.items():
                    started = [
                        clients.enter_context(VlessClient(link, xray_build, home))
                        for link in node_links
                    ]
                    users[name] = [ActiveUser(c, page, user_mbps * 1e6 / 8) for c in started]
                for level in levels:
                    for node_users in users.values():
                        for user in node_users[:level]:
                            if not user.is_alive():
                                user.start()
                    await asyncio.sleep(1.0)  # the new users' connections open
                    figures = await measure(probes, window_s)
                    for name, (cpu, mem, bps) in figures.items():
                        measured[name].append(Level(level, cpu, mem, bps))
                    print(f"{level} active users per node: {figures}", flush=True)
                for user in (u for node_users in users.values() for u in node_users):
                    user.stopping.set()
                    user.join(timeout=5)
                    failures += user.failures
        finally:
            for xray in xrays.values():
                await xray.close()
            for node in nodes:
                await _switch(http, node, keys[node.name], on=False)
    return Report(
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=f"{platform.machine()}, {cores} cores, {memory / 2**30:.1f} GiB",
        command=COMMAND,
        user_mbps=user_mbps,
        window_s=window_s,
        limits=limits,
        monthly_price=price,
        nodes=tuple(
            NodeReport(name, tuple(lv), capacity(lv, limits)) for name, lv in measured.items()
        ),
        failed_fetches=failures,
    )


def main(user_mbps: float, window_s: float, link_mbps: float, price: Decimal) -> Report:
    """The load run on the local stack, its report written to ``bench/reports/``."""
    nodes, xray_build = local_nodes()
    home = load(StackSettings).state_dir / "bench-capacity"
    report = asyncio.run(run(nodes, xray_build, home, (user_mbps, window_s, link_mbps, price)))
    write(report)
    print(render_markdown(report, chart="capacity.png"))
    return report


def write(report: Report) -> None:
    """The report's JSON, Markdown and chart, into ``bench/reports/``."""
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "capacity.json").write_text(json.dumps(report.as_json(), indent=2) + "\n")
    (REPORTS / "capacity.md").write_text(render_markdown(report, chart="capacity.png"))
    (REPORTS / "capacity.png").write_bytes(chart_png(report))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    pace, window, link, price = DEFAULTS
    parser.add_argument("--user-mbps", type=float, default=pace, help="each active user's pace")
    parser.add_argument("--window", type=float, default=window, help="seconds measured per level")
    parser.add_argument("--link-mbps", type=float, default=link, help="a node's link")
    parser.add_argument("--monthly-price", type=Decimal, default=price)
    arguments = parser.parse_args()
    main(arguments.user_mbps, arguments.window, arguments.link_mbps, arguments.monthly_price)
