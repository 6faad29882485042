"""Has a consumer group read everything its topics held when the worker started?

A worker that starts behind (its group rewound for a replay, a new group rebuilding an
empty database, a long outage) holds state part-way through history, and part-way in an
order of its own: one agent reads several topics, so a user's admin command may be
applied before the payment it followed. Jobs that act on that state by the wall clock
(the expiry sweep) wait until the group has caught up; otherwise they announce lapses
that never happened.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiokafka import TopicPartition

from keyland.kafka.admin import committed, extents, plain_consumer

log = logging.getLogger(__name__)


class CatchUp:
    """``await caught_up()`` is False until ``group`` committed, on every partition of
    ``topics``, the end offset seen at the first call; True from then on."""

    def __init__(self, bootstrap: str, group: str, topics: Sequence[str]) -> None:
        self._bootstrap = bootstrap
        self._group = group
        self._topics = list(topics)
        self._targets: dict[TopicPartition, tuple[int, int]] | None = None
        self._done = False

    async def __call__(self) -> bool:
        if self._done:
            return True
        try:
            if self._targets is None:
                async with plain_consumer(self._bootstrap) as consumer:
                    self._targets = {
                        tp: (span.beginning, span.end)
                        for topic in self._topics
                        for tp, span in (await extents(consumer, topic)).items()
                    }
            done = await committed(self._bootstrap, self._group)
        except Exception:  # Kafka away: not caught up as far as we know; asked again later
            log.warning("cannot tell whether group %s caught up", self._group, exc_info=True)
            return False
        self._done = all(done.get(tp, first) >= end for tp, (first, end) in self._targets.items())
        if self._done:
            log.info("group %s caught up with its topics", self._group)
        return self._done
