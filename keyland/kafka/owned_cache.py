"""What a worker last read or wrote of the users whose partitions it owns.

Each user's documents in a worker's collections have one writer: the consumer of the
user's partition (see :mod:`keyland.kafka.faust_app`). While this worker owns the
partition, what it last wrote (or read) is what the database holds, so the next event
of the same user needs no read: most users' events come one after another (/start, the
trial, its facts, the keys), each in a batch of its own.

Safe by three rules:
- the cache is emptied whenever the worker's partitions are revoked or assigned
  (:func:`keyland.kafka.faust_app.consuming_app`), after faust let the batch under way
  finish: another instance may write a user while this one does not own them;
- an adapter forgets a user before it writes and remembers only after the database
  acknowledged, so a write that failed, or may have applied without an answer, leaves
  nothing cached and the next event reads the database;
- only the owning consumer's writes go through it (reads elsewhere in the process, such
  as an HTTP API, do not use it).

Bounded: past ``limit`` users the least recently used go (``limit=0``: nothing is
remembered, for processes that do not own partitions, such as a rebuild's tools).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Final, Generic, Literal, Protocol, TypeVar

V = TypeVar("V")


class Forgets(Protocol):
    """Anything a worker keeps of the partitions it owns: emptied when they move."""

    def clear(self) -> None: ...


class _Miss(enum.Enum):
    MISS = "miss"


MISS: Final = _Miss.MISS
"""Nothing remembered of the user: read the database."""


class OwnedCache(Generic[V]):
    """Values by Telegram id; an adapter caching "no document" uses ``V | None``."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("an owned cache cannot hold fewer than no users")
        self._limit = limit
        self._values: OrderedDict[int, V] = OrderedDict()

    def get(self, telegram_id: int) -> V | Literal[_Miss.MISS]:
        """The remembered value, or :data:`MISS`."""
        if telegram_id not in self._values:
            return MISS
        self._values.move_to_end(telegram_id)
        return self._values[telegram_id]

    def remember(self, telegram_id: int, value: V) -> None:
        """``value`` is what the database now holds for the user."""
        self._values[telegram_id] = value
        self._values.move_to_end(telegram_id)
        while len(self._values) > self._limit:
            self._values.popitem(last=False)

    def forget(self, telegram_id: int) -> V | Literal[_Miss.MISS]:
        """Drop the user (before a write); what was remembered, or :data:`MISS`."""
        return self._values.pop(telegram_id, MISS)

    async def read_through(self, telegram_id: int, read: Callable[[], Awaitable[V]]) -> V:
        """The remembered value, or what ``read`` gets from the database (remembered)."""
        held = self.get(telegram_id)
        if held is MISS:
            held = await read()
            self.remember(telegram_id, held)
        return held

    async def write_through(
        self, telegram_id: int, value: V, write: Callable[[], Awaitable[object]]
    ) -> None:
        """``write`` ``value``: forgotten first, remembered once the database acknowledged."""
        self.forget(telegram_id)
        await write()
        self.remember(telegram_id, value)

    def clear(self) -> None:
        self._values.clear()

    def __len__(self) -> int:
        return len(self._values)
