"""The background loop that measures the node's load every ``interval_s``: what
``GET /v1/load`` answers and the ``keyland_node_*`` gauges of ``GET /metrics``."""

from __future__ import annotations

import asyncio
import logging

from services.node_agent.adapters import metrics
from services.node_agent.adapters.host_load import XrayProcess, XrayProcessGone, host_limits
from services.node_agent.adapters.xray_api import XrayRejected, XrayUnavailable
from services.node_agent.domain.load import Load, Snapshot, load_between

log = logging.getLogger(__name__)


class LoadSampler:
    """Keeps the load of the last interval; None until two looks succeeded in a row."""

    def __init__(self, xray: XrayProcess, interval_s: float) -> None:
        self.xray = xray
        self.interval_s = interval_s
        self.latest: Load | None = None
        self.cpu_cores, self.memory_bytes = host_limits()
        self._previous: Snapshot | None = None

    async def run(self) -> None:
        """Sample forever; cancel the task to stop."""
        metrics.HOST_CPU_CORES.set(self.cpu_cores)
        metrics.HOST_MEMORY_BYTES.set(self.memory_bytes)
        while True:
            await self.sample()
            await asyncio.sleep(self.interval_s)

    async def sample(self) -> None:
        try:
            current = await self.xray.snapshot()
        except (XrayUnavailable, XrayRejected, XrayProcessGone) as error:
            log.info("load not measured this round: %s", error)
            self._previous = self.latest = None
            return
        if self._previous is not None:
            self.latest = load_between(self._previous, current)
            self._export(self.latest)
        self._previous = current

    @staticmethod
    def _export(load: Load) -> None:
        metrics.XRAY_CPU_CORES.set(load.cpu_cores)
        metrics.XRAY_MEMORY_BYTES.set(load.memory_bytes)
        metrics.THROUGHPUT_BPS.set(load.throughput_bps)
        metrics.VLESS_CONNECTIONS.set(load.connections)
        metrics.ONLINE_USERS.set(load.online_users)
