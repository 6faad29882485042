"""Which keys this worker instance answers for now: those whose records land in the
partitions the consumer group has assigned to it.

Our producers key a user's records by Telegram id and let Kafka's default partitioner
place them (murmur2 of the key, modulo the partition count), so the partition of any key
can be computed without reading a record: a worker that owns partition N of a topic owns
every user whose id hashes there, and any other duty given a key (a node's address, say)
is owned by exactly one instance of the group as well.

One :class:`Ownership` per process, changed only by the rebalance callbacks; readers look
at :attr:`Ownership.generation` to learn that it moved.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.partitioner import murmur2


def partition_of(key: bytes, partitions: int) -> int:
    """The partition our producers put a record keyed ``key`` in, out of ``partitions``."""
    if partitions < 1:
        raise ValueError(f"a topic has one partition at least, not {partitions}")
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


class Ownership:
    """The partitions of one topic this instance owns, out of its ``partitions``."""

    def __init__(self, partitions: int, owned: Iterable[int] = ()) -> None:
        self._partitions = partitions
        self._owned = self._checked(owned, partitions)
        self._places: dict[str, int] = {}
        self.generation = 0

    @classmethod
    def whole(cls, partitions: int) -> Ownership:
        """Every partition: a process that is the topic's only consumer."""
        return cls(partitions, range(partitions))

    @property
    def partitions(self) -> int:
        return self._partitions

    @property
    def owned(self) -> frozenset[int]:
        return self._owned

    def owns(self, key: str) -> bool:
        """Whether records keyed ``key`` land in a partition owned here."""
        place = self._places.get(key)
        if place is None:
            place = self._places[key] = partition_of(key.encode(), self._partitions)
        return place in self._owned

    def change(self, owned: Iterable[int], partitions: int | None = None) -> None:
        """Own ``owned`` from now on (out of ``partitions``, when the topic's count is
        given); the generation moves when anything changed."""
        count = self._partitions if partitions is None else partitions
        owned = self._checked(owned, count)
        if owned == self._owned and count == self._partitions:
            return
        if count != self._partitions:
            self._places.clear()
        self._partitions, self._owned = count, owned
        self.generation += 1

    @staticmethod
    def _checked(owned: Iterable[int], partitions: int) -> frozenset[int]:
        found = frozenset(owned)
        if partitions < 1 or any(not 0 <= p < partitions for p in found):
            raise ValueError(f"partitions {sorted(found)} are not among {partitions}")
        return found
