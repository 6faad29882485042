"""The agent's one handler: a ``subscriptions`` fact in, the user's desired access recorded.

It never calls a node: it writes the user's access document (idempotent by event id) and
hands the saved access to the node loops (see ``domain/access_book.py``). A node that is
down therefore never holds up the Kafka partition; the node loops make the nodes follow,
now or after the outage. Which event makes which change is :mod:`..domain.changes`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence

from events import Envelope, Event
from keyland.kafka.batches import side_by_side
from services.provisioner.adapters.repository import UserAccesses
from services.provisioner.domain.access import (
    Cause,
    Change,
    UserAccess,
    record,
)
from services.provisioner.domain.changes import to_change

log = logging.getLogger(__name__)


class AccessHandler:
    """Records each relevant event once in the user's access document.

    A batch is split by user: users side by side, each user's events in order, with one
    load and one save per user whatever the number of their events in the batch."""

    def __init__(self, accesses: UserAccesses, changed: Callable[[UserAccess], None]) -> None:
        self._accesses = accesses
        self._changed = changed

    async def __call__(self, envelope: Envelope[Event]) -> None:
        await self.handle_batch([envelope])

    async def handle_batch(self, envelopes: Sequence[Envelope[Event]]) -> None:
        per_user: dict[int, list[tuple[Envelope[Event], Change]]] = defaultdict(list)
        for envelope in envelopes:
            change = to_change(envelope.payload)
            if change is not None:
                per_user[int(envelope.payload.partition_key())].append((envelope, change))
        await side_by_side(per_user.items(), lambda item: self._user(*item))

    async def _user(self, telegram_id: int, changes: list[tuple[Envelope[Event], Change]]) -> None:
        loaded = access = await self._accesses.load(telegram_id)
        for envelope, change in changes:
            if access.knows(change, envelope.event_id):
                log.info("event %s recorded already or superseded; skipped", envelope.event_id)
                continue
            if access.ignores(change):
                log.info("%s for user %s changes nothing (stale)", envelope.type, telegram_id)
            cause = Cause(envelope.event_id, envelope.correlation_id, envelope.occurred_at)
            access = record(access, change, cause)
        if access is not loaded:
            await self._accesses.save(access)
            self._changed(access)
