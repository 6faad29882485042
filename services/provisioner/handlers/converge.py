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
    Wanted,
    due_evictions,
    plan_node,
    record_view,
    split_by_owner,
    wanted_keys,
    wanted_until,
)

log = logging.getLogger(__name__)

KEY_USABLE_WINDOW = timedelta(hours=1)


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


@dataclass(frozen=True)
class _WantedHere:
    """What the users owned here want of every node, derived from the book at
    ``book_version`` under ownership ``generation``; it holds until ``holds_until``
    (None: until the book or the ownership changes)."""

    book_version: int
    generation: int
    holds_until: datetime | None
    wanted: dict[uuid.UUID, Wanted]
    theirs: set[uuid.UUID]

    def holds(self, book_version: int, generation: int, now: datetime) -> bool:
        return (
            self.book_version == book_version
            and self.generation == generation
            and (self.holds_until is None or now < self.holds_until)
        )


@dataclass(frozen=True)
class _InLine:
    """A reconciliation that found nothing to do: the node's list (the very set the
    client returned), what was wanted and the version of the records it compared."""

    on_node: frozenset[uuid.UUID]
    wanted: _WantedHere
    records_version: int


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
        self._records_version = 0  # counts the changes to ``_applied``
        self._wanted_here: _WantedHere | None = None
        self._in_line: _InLine | None = None

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
        self._records_version += 1

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

        Every few seconds per node, so its cost must not grow with the users while nothing
        changes: what the owned users want is derived again only when the book, the
        ownership or the time past a key's ``until`` changed it (:func:`wanted_until`),
        and the comparison is skipped when the last one found the node in line and
        neither the node's list (the agent answers "unchanged"), the wanted keys nor the
        records moved since."""
        on_node = await self._client.enabled_keys()
        here = self._wanted(now)
        last = self._in_line
        if (
            last is not None
            and last.on_node is on_node
            and last.wanted is here
            and last.records_version == self._records_version
        ):
            return 0
        steps = plan_node(here.wanted, self._records_in_memory(), on_node - here.theirs)
        self._in_line = _InLine(on_node, here, self._records_version) if not steps else None
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

    def _wanted(self, now: datetime) -> _WantedHere:
        generation, version = self._ownership.generation, self._book.version
        held = self._wanted_here
        if held is not None and held.holds(version, generation, now):
            return held
        mine, theirs = split_by_owner(self._book.every(), self.owns)
        wanted = wanted_keys(mine, now)
        self._wanted_here = _WantedHere(
            version, generation, wanted_until(mine, now), wanted, theirs
        )
        return self._wanted_here

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
        self._records_version += 1
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
