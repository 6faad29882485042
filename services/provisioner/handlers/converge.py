"""Bringing one node in line with the users' access, and telling ``keys`` what changed.

One :class:`NodeConverger` per node in each worker instance, driven by that node's loop
one round at a time. It applies, reconciles and records only the keys of the users whose
partitions its instance owns (:class:`Ownership`), so each ``applied:*`` record has one
writer, like the user's own document; the node's own duties (its outage record and
announcements, its load, removing keys that nobody owns) belong to the instance owning
the node's address, the key of those facts. It keeps its records in memory, read from the
database only by :meth:`NodeConverger.reload` (at start, when its instance's partitions
moved, and as the rare safety net), and compares them with the users' access in the
:class:`AccessBook`: a round reads no collection at all.

A round's steps go to the node in batches, one agent call each (up to
:data:`MAX_KEYS_PER_CALL` keys); then the batch's facts are published together (sent at
once, every acknowledgement awaited), then the batch is recorded in one bulk write. A
crash in between repeats the (idempotent) node call and publishes the facts again under
the same ids, derived from (key, node, until), so the repetition is recognisable
downstream.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from events import Envelope, Event
from keyland.kafka.ownership import Ownership
from keyland.kafka.producer import EventPublisher
from services.provisioner.adapters import metrics
from services.provisioner.adapters.node_client import MAX_KEYS_PER_CALL, NodeClient
from services.provisioner.adapters.repository import NodeRecords, Outage, UserAccesses
from services.provisioner.domain.access import Cause, KeyState
from services.provisioner.domain.access_book import AccessBook
from services.provisioner.domain.change_log import ChangeLog
from services.provisioner.domain.key_facts import (
    PRODUCER,
    key_fact,
    load_fact,
    outage_fact,
    recovery_fact,
)
from services.provisioner.domain.plan import (
    Action,
    Applied,
    Step,
    due_evictions,
    plan_node,
    record_view,
    wanted_keys,
)
from services.provisioner.domain.wanted_view import WantedView

log = logging.getLogger(__name__)

KEY_USABLE_WINDOW = timedelta(hours=1)
RECORDS_LOG_LIMIT = 100_000  # record writes a check can still be told of


class KeysRefused(RuntimeError):
    """The node answered but turned some keys of a batch down (the others were done)."""


def _millis(moment: datetime) -> datetime:
    """``moment`` at the database's precision, so an id made from it survives a restart."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _observe_key_usable(cause: Cause | None, node: str, now: datetime) -> None:
    """Time from the granting event to the key enabled here; a key re-applied long after
    (a reconciliation of old state, a replay) measures no request and is left out."""
    if cause is None:
        return
    latency = (now - cause.at).total_seconds()
    if 0 <= latency <= KEY_USABLE_WINDOW.total_seconds():
        metrics.KEY_USABLE_SECONDS.labels(node).observe(latency)


@dataclass
class _Compared:
    """Where the last check left off: the versions of the book and of the records it
    had caught up with, the ownership it derived under, the node's list it compared (the
    very set the client returned) and the keys it found out of line."""

    generation: int
    book_version: int
    records_version: int
    on_node: frozenset[uuid.UUID]
    unsettled: set[uuid.UUID]


class NodeConverger:
    def __init__(
        self,
        address: str,
        country: str,
        client: NodeClient,
        *,
        book: AccessBook,
        records: NodeRecords,
        accesses: UserAccesses,
        ownership: Ownership,
        publisher: EventPublisher,
        unknown_key_grace: timedelta,
        outage_grace: timedelta,
    ) -> None:
        self.address = address
        self.country = country
        self._client = client
        self._book = book
        self._records = records
        self._accesses = accesses
        self._ownership = ownership
        self._publisher = publisher
        self._unknown_key_grace = unknown_key_grace
        self._outage_grace = outage_grace
        self._unknown_since: dict[uuid.UUID, datetime] = {}
        self._outage: Outage | None = None
        self._outage_loaded = False
        self._applied: dict[uuid.UUID, Applied] | None = None
        # The record keys written: what a check that compared the records at an older
        # version has still to compare.
        self._records_log: ChangeLog[uuid.UUID] = ChangeLog(RECORDS_LOG_LIMIT)
        self._view: WantedView | None = None
        self._compared: _Compared | None = None

    @property
    def loaded(self) -> bool:
        return self._applied is not None

    @property
    def on_duty(self) -> bool:
        """Whether this instance answers for the node itself: its outage, its load, the
        keys nobody owns."""
        return self._ownership.owns(self.address)

    @property
    def ownership_generation(self) -> int:
        return self._ownership.generation

    def owns(self, telegram_id: int) -> bool:
        return self._ownership.owns(str(telegram_id))

    def compare_everything(self) -> None:
        """Make the next check a full comparison of every key (after a failed round: a
        node back from an outage gets all it missed, whatever it lost meanwhile)."""
        self._compared = None

    def ownership_moved(self) -> None:
        """The instance's partitions changed: what was learnt of the node's outage and
        unknown keys may be another instance's since; read or watch them afresh."""
        self._outage_loaded = False
        self._outage = None
        self._unknown_since = {}

    async def reload(self) -> None:
        """Read this node's records from the database (a whole read of them: at start and
        as the rare safety net only; rounds use the copy kept in memory)."""
        self._applied = await self._records.applied_on(self.address)
        self._records_log.everything_changed()

    async def converge_users(self, telegram_ids: Iterable[int], now: datetime) -> int:
        """Apply the access of these users, trusting the record for what the node has."""
        accesses = [
            a for t in telegram_ids if self.owns(t) and (a := self._book.get(t)) is not None
        ]
        wanted = wanted_keys(accesses, now)
        known = self._records_in_memory()
        applied = {key: known[key] for key in wanted if key in known}
        steps = plan_node(wanted, applied, record_view(applied))
        await self._run(steps, now)
        return len(steps)

    async def reconcile(self, now: datetime) -> int:
        """Compare the node's real keys with the access of the users owned here and
        repair both ways; keys of users owned elsewhere are left to their owner.

        Every few seconds per node, so its cost follows what changed, not how many users
        there are: the first check, and the first after a failure, a reload or a
        rebalance, compares every key; the others only the keys that may have moved since
        the last one: those of users whose access changed or whose ``until`` passed
        (:class:`WantedView`), those recorded since, those that entered or left the node's
        list (asked with the agent's tag: an unchanged list is the same set) and those the
        last check found out of line."""
        on_node = await self._client.enabled_keys()
        view, candidates = self._catch_up(on_node, now)
        if candidates is not None and not candidates:
            return 0  # nothing moved since a check that found everything in line
        if candidates is None:
            steps = plan_node(view.wanted, self._records_in_memory(), on_node - view.theirs.keys())
        else:
            wanted = {k: view.wanted[k] for k in candidates if k in view.wanted}
            seen = {k for k in candidates if k in on_node and k not in view.theirs}
            steps = plan_node(wanted, self._records_in_memory(), seen)
        assert self._compared is not None
        self._compared.unsettled = {s.key_id for s in steps}
        unknown = {s.key_id for s in steps if s.action is Action.EVICT}
        due: set[uuid.UUID] = set()
        if self.on_duty:
            due, self._unknown_since = due_evictions(
                unknown, self._unknown_since, now, self._unknown_key_grace
            )
            due = await self._nobodys(due)
        steps = [s for s in steps if s.action is not Action.EVICT or s.key_id in due]
        await self._run(steps, now)
        return len(steps)

    def _catch_up(
        self, on_node: frozenset[uuid.UUID], now: datetime
    ) -> tuple[WantedView, set[uuid.UUID] | None]:
        """The view brought up to ``now``, and the keys to compare (None: every key, the
        view having been derived afresh)."""
        generation, book_version = self._ownership.generation, self._book.version
        records_version = self._records_log.version
        last, view = self._compared, self._view
        users = records = None
        if last is not None and view is not None and last.generation == generation:
            users = self._book.changed_since(last.book_version)
            records = self._records_log.since(last.records_version)
        unsettled = set() if last is None else last.unsettled
        self._compared = _Compared(generation, book_version, records_version, on_node, unsettled)
        if view is None or last is None or users is None or records is None:
            self._view = view = WantedView(self._book.every(), self.owns, now)
            return view, None
        candidates = view.refresh(users, self._book.get, now) | records | last.unsettled
        if on_node is not last.on_node:
            candidates |= on_node ^ last.on_node
        return view, candidates

    async def _nobodys(self, keys: set[uuid.UUID]) -> set[uuid.UUID]:
        """Of keys unknown here past their grace, those no user holds in the database
        (one lookup by the indexed ``key_id`` each): another instance's newest users are
        in its book, not necessarily in this one's, until this one reads them."""
        nobodys = set()
        for key in keys:
            holder = await self._accesses.holding(key)
            if holder is None:
                nobodys.add(key)
            else:
                self._book.put(holder)
                self._unknown_since.pop(key, None)
        return nobodys

    async def failed(self, error: str, now: datetime) -> None:
        """Note a failed round; announce the outage once it lasted the grace period (the
        node's duty: another instance on duty notes it otherwise)."""
        if not self.on_duty:
            return
        outage = await self._current_outage()
        if outage is None:
            log.warning("node %s (%s) unreachable: %s", self.address, self.country, error)
            outage = Outage(_millis(now), error, announced=False)
            await self._save_outage(outage)
        if not outage.announced and now - outage.since >= self._outage_grace:
            event, event_id = outage_fact(self.country, self.address, error, outage.since)
            await self._publish(event, event_id, None, now)
            await self._save_outage(replace(outage, announced=True))

    async def report_load(self, minute: datetime, now: datetime) -> None:
        """Publish the node's load for ``minute`` as its agent measured it (one call),
        when on duty."""
        if not self.on_duty:
            return
        event, event_id = load_fact(self.country, self.address, minute, await self._client.load())
        await self._publish(event, event_id, None, now)

    async def answered(self, now: datetime) -> None:
        """Note a successful round: an outage, if there was one, is over. An announced one
        is announced over too (the first round after a failure compares every key, so the
        node is in line by now); published before the record is cleared, so a crash in
        between publishes it again under the same id."""
        if not self.on_duty:
            return
        outage = await self._current_outage()
        if outage is not None:
            if outage.announced:
                event, event_id = recovery_fact(self.country, self.address, outage.since, now)
                await self._publish(event, event_id, None, now)
            log.warning(
                "node %s (%s) answers again after %.1f s",
                self.address,
                self.country,
                (now - outage.since).total_seconds(),
            )
            await self._save_outage(None)

    def _records_in_memory(self) -> dict[uuid.UUID, Applied]:
        if self._applied is None:
            raise RuntimeError(f"records of {self.address} not loaded; reload() first")
        return self._applied

    async def _run(self, steps: list[Step], now: datetime) -> None:
        for start in range(0, len(steps), MAX_KEYS_PER_CALL):
            await self._run_batch(steps[start : start + MAX_KEYS_PER_CALL], now)

    async def _run_batch(self, steps: list[Step], now: datetime) -> None:
        """One agent call for the batch, its facts, one bulk write of its records. Keys
        the node refused are left unrecorded and reported as a failed round (retried)."""
        enable = [s.key_id for s in steps if s.action is Action.ENABLE]
        disable = [s.key_id for s in steps if s.action in (Action.REVOKE, Action.EVICT)]
        links: dict[uuid.UUID, str] = {}
        refused: dict[uuid.UUID, str] = {}
        if enable or disable:
            answer = await self._client.change(enable, disable)
            links, refused = answer.links, answer.refused
        done = [s for s in steps if s.key_id not in refused]
        await asyncio.gather(
            *(self._announce(s, links.get(s.key_id), now) for s in done if s.announce)
        )
        records = [
            (
                s.wanted.telegram_id,
                Applied(s.key_id, s.wanted.state, links.get(s.key_id), s.wanted.until),
            )
            for s in done
            if s.wanted is not None
        ]
        await self._records.save_applied(self.address, self.country, records, now)
        self._records_in_memory().update((applied.key_id, applied) for _, applied in records)
        self._records_log.add(applied.key_id for _, applied in records)
        for step in done:
            if step.wanted is None:
                log.warning("removed key %s that nobody owns from %s", step.key_id, self.address)
            else:
                log.info(
                    "%s %s on %s: %s", step.action, step.key_id, self.address, step.wanted.state
                )
        if refused:
            key, why = next(iter(refused.items()))
            raise KeysRefused(f"{self.address} refused {len(refused)} keys, {key}: {why}")

    async def _announce(self, step: Step, link: str | None, now: datetime) -> None:
        want = step.wanted
        assert want is not None
        event, event_id = key_fact(want, self.country, self.address, link)
        if want.state is KeyState.ENABLED:
            _observe_key_usable(want.cause, self.address, now)
        await self._publish(event, event_id, want.cause, now)

    async def _publish(
        self, event: Event, event_id: uuid.UUID, cause: Cause | None, now: datetime
    ) -> None:
        await self._publisher.publish(
            Envelope(
                event_id=event_id,
                type=event.event_type,
                version=event.event_version,
                occurred_at=now,
                producer=PRODUCER,
                correlation_id=cause.correlation_id if cause else event_id,
                causation_id=cause.event_id if cause else None,
                payload=event,
            )
        )

    async def _current_outage(self) -> Outage | None:
        if not self._outage_loaded:
            self._outage = await self._records.outage(self.address)
            self._outage_loaded = True
        return self._outage

    async def _save_outage(self, outage: Outage | None) -> None:
        await self._records.save_outage(self.address, self.country, outage)
        self._outage = outage
