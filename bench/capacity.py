"""The load run: how many active users a node holds and which resource saturates first.

Through both local nodes (``make up``), on loopback only, with real VLESS clients (an Xray
client process per user, ``keyland_tools.stack.vless_client``):

1. ``max(LEVELS)`` fresh keys are enabled on each node through its agent (removed at the end);
2. at each level of active users per node, every active user fetches a page over its own
   VLESS connection at a steady ``--user-mbps`` (a streaming user), both nodes at once;
3. over ``--window`` seconds of each level, each node's Xray is read as its agent reads
   it (``services.node_agent.adapters.host_load``): CPU in cores, resident memory, users'
   bytes per second;
4. per node, each resource's use is fitted against active users (``keyland.capacity``) and
   met with the node's limits: this machine's cores and memory, and a link of
   ``--link-mbps`` (loopback has none of its own);
5. the report, with the cost per active user at ``--monthly-price`` per node, is written to
   ``bench/reports/capacity.{json,md,png}`` (``keyland capacity`` reads the JSON).

Run: ``.venv/bin/python -m bench.capacity [--user-mbps 2] [--window 8] [--monthly-price 5]``.
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
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx

from bench.local import LocalStack
from keyland.capacity import Level, Limits, capacity
from keyland_tools.capacity_report import NodeReport, Report, draw_chart, render_markdown
from keyland_tools.stack.local_env import LOCAL_NODES
from keyland_tools.stack.node import OfficialXray
from keyland_tools.stack.vless_client import PAGE, PageServer, ProxyRefused, VlessClient
from services.node_agent.adapters.host_load import XrayProcess, host_limits
from services.node_agent.adapters.xray_api import XrayApi
from services.node_agent.domain.load import load_between

LEVELS = (1, 2, 4, 8)
REPORTS = Path(__file__).resolve().parent / "reports"
COMMAND = ".venv/bin/python -m bench.capacity"


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


async def run(user_mbps: float, window_s: float, link_mbps: float, price: Decimal) -> Report:
    local = LocalStack.load()
    api_ports = {country: api for country, _, api, _ in LOCAL_NODES}
    xray_build = OfficialXray(local.stack.cache_dir)
    cores, memory = host_limits()
    limits = Limits(cpu_cores=cores, memory_bytes=memory, network_bps=link_mbps * 1e6 / 8)
    keys = {agent.name: [str(uuid.uuid4()) for _ in range(max(LEVELS))] for agent in local.agents}
    levels: dict[str, list[Level]] = {agent.name: [] for agent in local.agents}
    failures = 0
    async with httpx.AsyncClient(timeout=10) as http:
        links: dict[str, list[str]] = {}
        for agent in local.agents:
            auth = {"Authorization": f"Bearer {agent.token}"}
            answer = await http.patch(
                f"{agent.url}/v1/users",
                json={"enable": keys[agent.name], "disable": []},
                headers=auth,
            )
            answer.raise_for_status()
            links[agent.name] = [answer.json()["enabled"][key] for key in keys[agent.name]]
        xrays = {
            a.name: XrayApi.from_address(f"127.0.0.1:{api_ports[a.name]}", inbound_tag="vless-in")
            for a in local.agents
        }
        probes = {name: XrayProcess(xray, api_ports[name]) for name, xray in xrays.items()}
        try:
            with PageServer() as page, ExitStack() as clients:
                home = local.stack.state_dir / "bench-capacity"
                users: dict[str, list[ActiveUser]] = {}
                for name, node_links in links.items():
                    started = [
                        clients.enter_context(VlessClient(link, xray_build, home))
                        for link in node_links
                    ]
                    users[name] = [ActiveUser(c, page, user_mbps * 1e6 / 8) for c in started]
                for level in LEVELS:
                    for name in users:
                        for user in users[name][:level]:
                            if not user.is_alive():
                                user.start()
                    await asyncio.sleep(1.0)  # the new users' connections open
                    figures = await measure(probes, window_s)
                    for name, (cpu, mem, bps) in figures.items():
                        levels[name].append(Level(level, cpu, mem, bps))
                    print(f"{level} active users per node: {figures}", flush=True)
                for user in (u for node_users in users.values() for u in node_users):
                    user.stopping.set()
                    user.join(timeout=5)
                    failures += user.failures
        finally:
            for xray in xrays.values():
                await xray.close()
            for agent in local.agents:
                auth = {"Authorization": f"Bearer {agent.token}"}
                await http.patch(
                    f"{agent.url}/v1/users",
                    json={"enable": [], "disable": keys[agent.name]},
                    headers=auth,
                )
    nodes = [
        NodeReport(name, tuple(node_levels), capacity(node_levels, limits))
        for name, node_levels in levels.items()
    ]
    return Report(
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=f"{platform.machine()}, {cores} cores, {memory / 2**30:.1f} GiB",
        command=COMMAND,
        user_mbps=user_mbps,
        window_s=window_s,
        limits=limits,
        monthly_price=price,
        nodes=tuple(nodes),
        failed_fetches=failures,
    )


def main(user_mbps: float, window_s: float, link_mbps: float, price: Decimal) -> Report:
    report = asyncio.run(run(user_mbps, window_s, link_mbps, price))
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "capacity.json").write_text(json.dumps(report.as_json(), indent=2) + "\n")
    (REPORTS / "capacity.md").write_text(render_markdown(report, chart="capacity.png"))
    draw_chart(report).save(REPORTS / "capacity.png")
    print(render_markdown(report, chart="capacity.png"))
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user-mbps", type=float, default=2.0, help="each active user's pace")
    parser.add_argument("--window", type=float, default=8.0, help="seconds measured per level")
    parser.add_argument("--link-mbps", type=float, default=1000.0, help="a node's link")
    parser.add_argument("--monthly-price", type=Decimal, default=Decimal("5.00"))
    arguments = parser.parse_args()
    main(arguments.user_mbps, arguments.window, arguments.link_mbps, arguments.monthly_price)
