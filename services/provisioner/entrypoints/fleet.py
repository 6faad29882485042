"""The node loops of every node in the countries file, following the file as it changes.

Every user's access is kept in the :class:`AccessBook` the loops compare against: read
from the database before any loop starts (so that no loop takes a user it has not read
about for a stranger), then kept current by the agent through :meth:`Fleet.changed`, and
read again every ``reload_interval_s`` as the safety net against drift.

A node added to the file gets a loop whose first round is a full reconciliation: every
active user is back-filled. A node removed from the file loses its loop and its records
(it is no longer managed; decommissioning it is the operator's business). A file that
cannot be used is logged and the last good one stays in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable

from keyland.countries import Countries, CountriesError, CountriesFile
from keyland.retry import retry_transient
from services.provisioner.access_book import AccessBook
from services.provisioner.adapters.repository import NodeRecords, UserAccesses
from services.provisioner.domain.access import UserAccess
from services.provisioner.entrypoints.node_loop import NodeLoop

log = logging.getLogger(__name__)


class Fleet:
    def __init__(
        self,
        countries_file: CountriesFile,
        countries: Countries,
        build_loop: Callable[[str, str], NodeLoop],
        records: NodeRecords,
        *,
        book: AccessBook,
        accesses: UserAccesses,
        usable: Callable[[Countries], None],
        poll_s: float,
        reload_interval_s: float,
    ) -> None:
        """``countries`` were read and checked at start-up; ``usable`` raises
        :class:`CountriesError` for a new version that cannot be used (say, a node
        without a token)."""
        self._file = countries_file
        self._countries = dict(countries)
        self._build_loop = build_loop
        self._records = records
        self._usable = usable
        self._poll_s = poll_s
        self._book = book
        self._accesses = accesses
        self._reload_interval_s = reload_interval_s
        self._loops = {address: build_loop(address, c) for address, c in countries.items()}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def countries(self) -> Countries:
        return dict(self._countries)

    def changed(self, access: UserAccess) -> None:
        """The agent saved this access: every node applies it at its next round."""
        self._book.put(access)
        for loop in self._loops.values():
            loop.notify(access.telegram_id)

    async def run(self) -> None:
        """Read the users, run every node's loop and follow the countries file (and
        re-read the users now and then), until cancelled."""
        try:
            await self._read_users()
            for address in await retry_transient(self._records.nodes):
                if address not in self._countries:  # it left the file while we were away
                    await self._forget(address, "gone from the countries file")
            for address in self._loops:
                self._start(address)
            log.info("managing %d nodes: %s", len(self._loops), self._countries)
            next_read = time.monotonic() + self._reload_interval_s
            while True:
                await asyncio.sleep(self._poll_s)
                await self.follow_file()
                if time.monotonic() >= next_read:
                    await self._read_users_again()
                    next_read = time.monotonic() + self._reload_interval_s
        finally:
            for address in list(self._tasks):
                await self._stop(address)

    async def follow_file(self) -> None:
        """Apply the countries file if it changed and can be used."""
        problem: CountriesError | None = None
        try:
            countries = self._file.changed()
            if countries is not None:
                self._usable(countries)
        except CountriesError as error:
            problem = error
        if problem is not None:
            log.error("%s; keeping the %d nodes in use", problem, len(self._countries))
            return
        if countries is None or countries == self._countries:
            return
        for address, country in self._countries.items():
            if countries.get(address) != country:
                await self._stop(address)
                del self._loops[address]
                await self._forget(address, f"{country}, left the countries file")
        for address, country in countries.items():
            if address not in self._loops:
                self._loops[address] = self._build_loop(address, country)
                self._start(address)
                log.warning("node %s (%s) joined; back-filling active users", address, country)
        self._countries = dict(countries)

    async def _read_users(self) -> None:
        read = await retry_transient(lambda: self._book.load(self._accesses.every()))
        log.info("read the access of %d users", read)

    async def _read_users_again(self) -> None:
        """The safety net: a failure keeps the book as the agent kept it, and the loops
        running."""
        try:
            await self._read_users()
        except Exception:
            log.exception(
                "re-reading the users failed; trying again in %.0f s", self._reload_interval_s
            )

    async def _forget(self, address: str, why: str) -> None:
        forgotten = await retry_transient(functools.partial(self._records.forget_node, address))
        log.warning("node %s (%s): no longer managed, %d records dropped", address, why, forgotten)

    def _start(self, address: str) -> None:
        task = asyncio.create_task(self._loops[address].run(), name=f"node-loop-{address}")
        task.add_done_callback(_log_unexpected_end)
        self._tasks[address] = task

    async def _stop(self, address: str) -> None:
        task = self._tasks.pop(address, None)
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _log_unexpected_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s ended", task.get_name(), exc_info=task.exception())
