"""The Xray process as the operating system sees it (psutil): CPU time, resident memory
and open connections on its VLESS listeners; and the host's cores and memory.

Xray is found as the process listening on its API port. When it cannot be found or read
(it is restarting, or runs as another user the agent may not inspect), :class:`XrayProcessGone`.
"""

from __future__ import annotations

import time

import psutil

from services.node_agent.adapters.xray_api import XrayApi
from services.node_agent.domain.load import Snapshot


class XrayProcessGone(RuntimeError):
    """No readable process listens on Xray's API port."""


def host_limits() -> tuple[int, int]:
    """The host's logical cores and total memory in bytes."""
    return psutil.cpu_count() or 1, psutil.virtual_memory().total


def _port(address: object) -> int | None:
    """The port of a connection's address (psutil gives an empty tuple for none)."""
    port = getattr(address, "port", None)
    return port if isinstance(port, int) else None


def _listener_of(port: int) -> psutil.Process:
    for connection in psutil.net_connections(kind="tcp"):
        listens = connection.status == psutil.CONN_LISTEN and _port(connection.laddr) == port
        if listens and connection.pid is not None:
            return psutil.Process(connection.pid)
    raise XrayProcessGone(f"no readable process listens on port {port}")


class XrayProcess:
    """Reads one Xray's counters; finds the process again after Xray restarts."""

    def __init__(self, xray: XrayApi, api_port: int) -> None:
        self.xray = xray
        self.api_port = api_port
        self._process: psutil.Process | None = None

    def _current(self) -> psutil.Process:
        if self._process is None or not self._process.is_running():
            self._process = _listener_of(self.api_port)
        return self._process

    def _read_process(self) -> tuple[float, int, int]:
        try:
            process = self._current()
            with process.oneshot():
                times = process.cpu_times()
                memory = process.memory_info().rss
                connections = process.net_connections(kind="tcp")
        except psutil.Error as error:
            self._process = None
            raise XrayProcessGone(str(error)) from error
        listening = {_port(c.laddr) for c in connections if c.status == psutil.CONN_LISTEN} - {
            self.api_port
        }
        open_vless = sum(
            1
            for c in connections
            if c.status == psutil.CONN_ESTABLISHED and _port(c.laddr) in listening
        )
        return times.user + times.system, memory, open_vless

    async def snapshot(self) -> Snapshot:
        """The counters now (:class:`XrayProcessGone`, or the API's errors, when unreadable)."""
        user_bytes = await self.xray.bytes_by_user()
        cpu_seconds, memory, connections = self._read_process()
        return Snapshot(time.monotonic(), cpu_seconds, memory, connections, user_bytes)
