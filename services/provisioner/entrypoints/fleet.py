"""The node loops of every node in the countries file, following the file as it changes,
and the instance's share of the users, following the consumer group.

Every user's access is kept in the :class:`AccessBook` the loops compare against: read
from the database before any loop starts (so that no loop takes a user it has not read
about for a stranger), then kept current by the agent through :meth:`Fleet.changed`, and
read again every ``reload_interval_s`` as the safety net against drift.

Several worker instances share the users by the partitions of their input topics
(:class:`Ownership`): every instance runs a loop per node, and each loop applies only the
users owned here. When partitions are revoked, the worker stops treating their users as
its own before the rebalance goes on, and waits for the loops' rounds under way; when it
is assigned partitions, it reads every user again (another instance may have written
them meanwhile) and only then takes them on, and each loop reads its node's records
again. A process that is the topics' only consumer (a tool, a test) owns every partition
from the start.

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
from keyland.kafka.ownership import Ownership
from keyland.retry import retry_transient
from services.provisioner.adapters.repository import NodeRecords, UserAccesses
from services.provisioner.domain.access import UserAccess
from services.provisioner.domain.access_book import AccessBook
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
        ownership: Ownership,
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
        self._ownership = ownership
        self._taking_over: asyncio.Task[None] | None = None
        self._reading = asyncio.Lock()  # one whole read of the users at a time
        self._first_read_ended = asyncio.Event()  # the users were read whole, or failed
        self._read_failed: Exception | None = None  # ... for good, when it did
        self._following = False
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

    @property
    def ownership(self) -> Ownership:
        return self._ownership

    def follow_the_group(self) -> None:
        """Own no partition until the consumer group assigns some (a worker instance);
        the users are then first read whole by the group's first assignment."""
        self._ownership.change(())
        self._following = True

    async def revoked(self, partitions: set[int]) -> None:
        """The group takes ``partitions`` away: their users are no longer applied here
        once the rounds under way have ended."""
        if self._taking_over is not None:
            self._taking_over.cancel()
            self._taking_over = None
        self._ownership.change(self._ownership.owned - partitions)
        await asyncio.gather(*(loop.quiet() for loop in self._loops.values()))
        if partitions:
            log.info("partitions %s revoked; waited for the rounds under way", sorted(partitions))

    def assigned(self, partitions: set[int], count: int) -> None:
        """The group's assignment to this instance, whole (out of ``count`` partitions),
        taken on once every user was read again: even a partition held before the
        rebalance may have been another's meanwhile, if this one missed a generation."""
        if self._taking_over is not None:
            self._taking_over.cancel()
            self._taking_over = None
        if not partitions and self._first_read_ended.is_set() and self._read_failed is None:
            self._own(partitions, count)
            return
        self._taking_over = asyncio.create_task(
            self._take_over(partitions, count), name="provisioner-take-over"
        )
        self._taking_over.add_done_callback(_log_unexpected_end)

    async def _take_over(self, partitions: set[int], count: int) -> None:
        try:
            await self._read_users()
        except Exception as error:  # not transient: run() raises it, as its own read did
            self._read_failed = error
            self._first_read_ended.set()
            raise
        self._own(partitions, count)

    def _own(self, partitions: set[int], count: int) -> None:
        self._ownership.change(partitions, count)
        for loop in self._loops.values():
            loop.wake()
        log.info("owning partitions %s of %d", sorted(partitions), count)

    async def run(self) -> None:
        """Read the users, run every node's loop and follow the countries file (and
        re-read the users now and then), until cancelled."""
        try:
            if self._following:
                # The group's first assignment reads them (see assigned): reading them
                # here as well read every user twice at each start.
                await self._first_read_ended.wait()
                if self._read_failed is not None:
                    raise self._read_failed
            else:
                await self._read_users()
            for address in self._loops:
                self._start(address)
            log.info("managing %d nodes: %s", len(self._loops), self._countries)
            # After the loops have started, not before: finding every node with records
            # is a whole read of the collection (seconds with tens of thousands of keys).
            # Before the countries file is followed, so that no node comes back meanwhile.
            await self._forget_departed()
            next_read = time.monotonic() + self._reload_interval_s
            while True:
                await asyncio.sleep(self._poll_s)
                await self.follow_file()
                if time.monotonic() >= next_read:
                    await self._read_users_again()
                    next_read = time.monotonic() + self._reload_interval_s
        finally:
            if self._taking_over is not None:
                self._taking_over.cancel()
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
        async with self._reading:
            read = await retry_transient(lambda: self._book.load(self._accesses.every()))
        self._read_failed = None
        self._first_read_ended.set()
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

    async def _forget_departed(self) -> None:
        """Drop the records of the nodes that left the countries file while the worker was
        away."""
        for address in await retry_transient(self._records.nodes):
            if address not in self._countries:
                await self._forget(address, "gone from the countries file")

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
