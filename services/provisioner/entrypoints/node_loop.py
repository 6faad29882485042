"""One loop per node: apply what the agent recorded, reconcile on a timer, back off on failure.

Each round is one of, in this order of precedence:
- a reload (at start, when the instance's partitions moved, and every
  ``reload_interval_s``, minutes): the node's records read from the database, then a
  reconciliation. The only round that reads a collection whole;
- a reconciliation (every ``reconcile_interval_s``, and after any failure): the node's
  real key list against every user's access, both from memory (no database read);
- the users the agent reported changed since the last round, all in one batch.

After a round that went well, the node's traffic is counted when its window is not
counted yet (one agent call per window, see ``handlers/traffic.py``); a failure to count
is logged and tried again at the next round, and never fails the round.

The agent wakes the loop (an event, not a timer), so a change reaches the node within one
agent call; changes that arrive while a round runs make up the next round's batch. A
failed round waits a capped, doubling delay before the next; other nodes' loops and the
Kafka partition never wait for it. When the instance's partitions are revoked, the
worker waits for the round under way (:meth:`NodeLoop.quiet`): no later round touches a
user it no longer owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from services.provisioner.adapters import metrics
from services.provisioner.adapters.node_client import NodeUnavailable
from services.provisioner.domain.traffic import window_start
from services.provisioner.handlers.converge import NodeConverger
from services.provisioner.handlers.traffic import TrafficMeter

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Backoff:
    """Delays that double from ``initial_s`` up to ``max_s``, until :meth:`reset`."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self.initial_s = initial_s
        self.max_s = max(max_s, initial_s)
        self._next_s = initial_s

    def next(self) -> float:
        delay, self._next_s = self._next_s, min(self._next_s * 2, self.max_s)
        return delay

    def reset(self) -> None:
        self._next_s = self.initial_s


class NodeLoop:
    """Drives one node's :class:`NodeConverger` until cancelled."""

    def __init__(
        self,
        converger: NodeConverger,
        *,
        reconcile_interval_s: float,
        reload_interval_s: float,
        backoff: Backoff,
        meter: TrafficMeter | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.converger = converger
        self.meter = meter
        self.reconcile_interval_s = reconcile_interval_s
        self.reload_interval_s = reload_interval_s
        self.backoff = backoff
        self.clock = clock
        self.pending: set[int] = set()
        self._wake = asyncio.Event()
        self._next_reconcile = 0.0  # monotonic; 0 means "at the next round"
        self._next_reload = 0.0
        self._load_minute: datetime | None = None
        self._generation = converger.ownership_generation
        self._busy = asyncio.Lock()

    @property
    def address(self) -> str:
        return self.converger.address

    def notify(self, telegram_id: int) -> None:
        """The user's access changed: apply it at the next round."""
        self.pending.add(telegram_id)
        self._wake.set()

    async def quiet(self) -> None:
        """Wait for the round under way, if any, to end."""
        async with self._busy:
            return

    def wake(self) -> None:
        """Start a round now (the instance's partitions moved)."""
        self._wake.set()

    async def run(self) -> None:
        """Rounds until cancelled; a failed round is retried after a backoff delay."""
        while True:
            self._wake.clear()
            async with self._busy:
                went_well = await self._round()
            if went_well:
                self.backoff.reset()
                await self._report_load()
                await self._idle()
            else:
                self._next_reconcile = 0.0  # after any failure, compare everything
                self.converger.compare_everything()
                await asyncio.sleep(self.backoff.next())

    async def _round(self) -> bool:
        now = self.clock()
        if self._generation != self.converger.ownership_generation:
            # Partitions moved: another instance may have written this node's records of
            # the users now owned here, and its outage record.
            self._generation = self.converger.ownership_generation
            self.converger.ownership_moved()
            self._next_reload = 0.0
        try:
            if time.monotonic() >= self._next_reload:
                await self.converger.reload()
                self._next_reload = time.monotonic() + self.reload_interval_s
                self._next_reconcile = 0.0
            if time.monotonic() >= self._next_reconcile:
                self.pending.clear()  # a reconciliation covers every user
                changed = await self.converger.reconcile(now)
                self._next_reconcile = time.monotonic() + self.reconcile_interval_s
            elif self.pending:
                batch, self.pending = self.pending, set()
                changed = await self.converger.converge_users(batch, now)
            else:
                await self._count_traffic(now)
                return True
            await self.converger.answered(now)
        except NodeUnavailable as error:
            metrics.PROVISIONING_FAILURES.labels(self.address, "unreachable").inc()
            metrics.NODE_UP.labels(self.address).set(0)
            await self._note_failure(str(error), now)
            return False
        except Exception:  # the database or Kafka away, or a bug: retry, never stop the loop
            metrics.PROVISIONING_FAILURES.labels(self.address, "error").inc()
            log.exception("round on node %s failed; retrying", self.address)
            return False
        metrics.NODE_UP.labels(self.address).set(1)
        if changed:
            log.info("node %s: %d changes applied", self.address, changed)
        await self._count_traffic(now)
        return True

    async def _count_traffic(self, now: datetime) -> None:
        if self.meter is None or not self.meter.due(now):
            return
        try:
            await self.meter.count(now)
        except Exception:  # the node or Kafka away: the next round tries again
            log.warning("counting the traffic of node %s failed", self.address, exc_info=True)

    async def _report_load(self) -> None:
        """Once a minute, the node's load onto ``keys`` (a missed minute stays missed)."""
        now = self.clock()
        minute = now.replace(second=0, microsecond=0)
        if minute == self._load_minute:
            return
        self._load_minute = minute
        try:
            await self.converger.report_load(minute, now)
        except (NodeUnavailable, ValueError) as error:
            log.info("node %s: no load reported for %s: %s", self.address, minute, error)
        except Exception:
            log.exception("node %s: cannot publish its load", self.address)

    async def _note_failure(self, error: str, now: datetime) -> None:
        try:
            await self.converger.failed(error, now)
        except Exception:
            log.exception("cannot record the outage of node %s", self.address)

    async def _idle(self) -> None:
        """Wait for news from the agent or the next reconciliation, whichever comes first."""
        if self.pending:
            return
        timeout = max(0.0, self._next_reconcile - time.monotonic())
        if self.meter is not None:
            now = self.clock()
            next_window = window_start(now, self.meter.window) + self.meter.window
            timeout = min(timeout, (next_window - now).total_seconds())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
