"""Ending the open connections of users: Xray's access log names them, ``ss -K`` ends them.

``ss -K`` destroys a TCP socket through the kernel's socket diagnostics
(``CONFIG_INET_DIAG_DESTROY``, and ``CAP_NET_ADMIN`` for the agent). Xray sees its
client connection fail and closes the outbound side too; nothing else in Xray changes,
so no other user's connection is touched and Xray is not restarted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from services.node_agent.domain.sessions import ClientAddress, Sessions, parse_address

log = logging.getLogger(__name__)

_IPV4_MAPPED = "::ffff:"

# Listing the inbound's sockets costs about 30 ms per 1,000 open connections; the
# watcher's pass lists them only when the log names a connection to end, and otherwise
# this often, to forget the closed ones.
FORGET_CLOSED_EVERY_S = 60.0


class CutFailed(RuntimeError):
    """``ss`` could not be run or refused the filter."""


class AccessLog:
    """Reads Xray's access log from where the previous read stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""

    def new_lines(self) -> list[str]:
        """Complete lines written since the last call (all of them after a rotation)."""
        try:
            with self.path.open("rb") as file:
                size = file.seek(0, 2)
                if size < self._offset:  # rotated or truncated: start again from the top
                    self._offset, self._partial = 0, b""
                file.seek(self._offset)
                data = self._partial + file.read(size - self._offset)
                self._offset = size
        except FileNotFoundError:
            return []
        complete, _, self._partial = data.rpartition(b"\n")
        return complete.decode("utf-8", "replace").splitlines() if complete else []


def _as_logged(text: str) -> ClientAddress | None:
    """A peer address as ``ss`` prints it, spelt as Xray logs it (IPv4 without ``::ffff:``)."""
    address = parse_address(text)
    if address is not None and address.ip.startswith(_IPV4_MAPPED) and "." in address.ip:
        return ClientAddress(address.ip.removeprefix(_IPV4_MAPPED), address.port)
    return address


class ConnectionCutter:
    """The open connections to one Xray inbound port, and the way to end a user's ones."""

    def __init__(self, access_log: AccessLog, inbound_port: int, ss: str = "ss") -> None:
        self.access_log = access_log
        self.inbound_port = inbound_port
        self.ss = ss
        self.sessions = Sessions()
        self._lock = asyncio.Lock()  # one reader of the log and of the sessions at a time
        self._listed_at = float("-inf")

    @classmethod
    def from_path(cls, access_log: Path, inbound_port: int) -> ConnectionCutter:
        return cls(AccessLog(access_log), inbound_port)

    async def cut(self, emails: list[str]) -> int:
        """End every open connection of these users; how many were ended."""
        if not emails:
            return 0
        async with self._lock:
            spelled = await self._refresh()
            return await self._end(self.sessions.of(emails), spelled)

    async def cut_all_but(self, emails: list[str]) -> int:
        """End every open connection of the users not in ``emails``; how many were ended.

        A connection accepted just before its user's removal may reach the log after the
        removal's cut; this later pass ends it. Every :data:`FORGET_CLOSED_EVERY_S` it
        also forgets closed connections, so the memory held stays bounded.
        """
        async with self._lock:
            self.sessions.read(await asyncio.to_thread(self.access_log.new_lines))
            due = time.monotonic() - self._listed_at >= FORGET_CLOSED_EVERY_S
            if not due and not self.sessions.not_of(emails):
                return 0
            spelled = await self._refresh()
            return await self._end(self.sessions.not_of(emails), spelled)

    async def _end(self, doomed: list[ClientAddress], spelled: dict[ClientAddress, str]) -> int:
        if not doomed:
            return 0
        peers: list[str] = []
        for address in doomed:
            peers += ["dst", spelled[address], "or"]
        await self._ss("-K", *self._inbound_filter(), "and", "(", *peers[:-1], ")")
        self.sessions.forget(doomed)
        return len(doomed)

    async def _refresh(self) -> dict[ClientAddress, str]:
        """The open connections, each as ``ss`` spells it, after reading the log."""
        lines = await asyncio.to_thread(self.access_log.new_lines)
        self.sessions.read(lines)
        open_now = await self._open_connections()
        self._listed_at = time.monotonic()
        self.sessions.keep_open(open_now)
        return open_now

    def _inbound_filter(self) -> list[str]:
        return ["state", "established", "(", "sport", "=", f":{self.inbound_port}", ")"]

    async def _open_connections(self) -> dict[ClientAddress, str]:
        output = await self._ss(*self._inbound_filter())
        found: dict[ClientAddress, str] = {}
        for row in output.splitlines():
            fields = row.split()
            if len(fields) >= 4:  # Recv-Q Send-Q Local Peer
                address = _as_logged(fields[3])
                if address is not None:
                    found[address] = fields[3]
        return found

    async def _ss(self, *args: str) -> str:
        try:
            process = await asyncio.create_subprocess_exec(
                self.ss,
                "-tnH",
                *args,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            raise CutFailed(f"cannot run {self.ss}: {error}") from error
        stdout, stderr = await process.communicate()
        if process.returncode != 0:
            raise CutFailed(f"{self.ss} failed: {stderr.decode(errors='replace').strip()}")
        return stdout.decode(errors="replace")
