"""Counting one node's traffic into ``traffic``, one reading per window.

One :class:`TrafficMeter` per node, called by that node's loop. A reading is one agent
call (every key's counters at once) and a publication of the window's counts, each
acknowledged before the reading becomes the baseline; a failure leaves the baseline as
it was, and the next try in the same window publishes the same ids again (the
subscription processor counts an id once). Owners come from the access book in memory:
no database read.

Each worker instance reads every key's counters, so its baseline covers keys it may come
to own, and publishes the counts of the users whose partitions it owns: a key whose user
moves to another instance is counted there from that instance's previous reading on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from events import Envelope, Event
from keyland.kafka.ownership import Ownership
from keyland.kafka.producer import EventPublisher
from services.provisioner.adapters.node_client import NodeClient
from services.provisioner.domain.access_book import AccessBook
from services.provisioner.domain.key_facts import PRODUCER
from services.provisioner.domain.traffic import Reading, counted, traffic_facts, window_start

log = logging.getLogger(__name__)


class TrafficMeter:
    def __init__(
        self,
        address: str,
        country: str,
        client: NodeClient,
        *,
        book: AccessBook,
        ownership: Ownership,
        publisher: EventPublisher,
        window: timedelta,
    ) -> None:
        self.address = address
        self.country = country
        self.window = window
        self._client = client
        self._book = book
        self._ownership = ownership
        self._publisher = publisher
        self._baseline: Reading | None = None
        self._counted_window: datetime | None = None

    def due(self, now: datetime) -> bool:
        """Whether the window holding ``now`` is not counted yet."""
        return window_start(now, self.window) != self._counted_window

    async def count(self, now: datetime) -> int:
        """Read the node and publish the window's counts (once per window); how many."""
        start = window_start(now, self.window)
        if start == self._counted_window:
            return 0
        reading = await self._client.traffic()
        moved = counted(self._baseline, reading)
        owners = {
            a.key_id: a.telegram_id
            for a in self._book.every()
            if a.key_id is not None and self._ownership.owns(str(a.telegram_id))
        }
        envelopes: list[Envelope[Event]] = [
            Envelope(
                event_id=event_id,
                type=event.event_type,
                version=event.event_version,
                occurred_at=now,
                producer=PRODUCER,
                correlation_id=event_id,
                causation_id=None,
                payload=event,
            )
            for event, event_id in traffic_facts(
                moved, owners, country=self.country, node=self.address, start=start
            )
        ]
        await self._publisher.publish_many(envelopes)
        self._baseline, self._counted_window = reading, start
        if envelopes:
            log.info("node %s: traffic of %d keys counted", self.address, len(envelopes))
        return len(envelopes)
