"""The ``figures`` collection: the business figures' totals, one document per shard.

A shard is a Kafka partition of the subscription processor's input topics: they are
keyed by the user and co-partitioned (see :mod:`events.registry`), so all of a user's
records, and so all changes to their share, reach the one worker that owns the
partition, one batch at a time. One writer per shard document, then, as FerretDB needs
(its updates are not atomic against a concurrent writer). The shard of a user is
computed with the producer's own partitioner (murmur2 of the key, as Kafka's clients).

Reading the figures is one lookup by ``_id`` per shard, whatever the number of users.
The processor keeps the shards it owns as it last wrote or read them
(:mod:`keyland.kafka.owned_cache`); :meth:`FigureShards.totals`, for anyone, reads them.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2
from pymongo.asynchronous.collection import AsyncCollection

from events import bot_actions
from events.registry import TOPICS_BY_NAME
from keyland.indexes import Owned
from keyland.kafka.owned_cache import OwnedCache
from keyland.mongo import Document
from services.subscription.domain.figures import Figures, Shard

# The processor's input topics all have this many partitions (faust co-partitions them).
PARTITIONS = TOPICS_BY_NAME[bot_actions.TOPIC].partitions


class FigureShards:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        partitions: int = PARTITIONS,
        owned: OwnedCache[Shard] | None = None,
    ) -> None:
        self._collection = collection
        self._partitions = partitions
        self._owned: OwnedCache[Shard] = OwnedCache(0) if owned is None else owned

    def owned(self) -> list[Owned]:
        return [Owned(self._collection)]

    def shard_of(self, telegram_id: int) -> int:
        """The partition a user's records are in (as the producer placed them)."""
        hashed: int = murmur2(str(telegram_id).encode())
        return (hashed & 0x7FFFFFFF) % self._partitions

    async def load(self, shard: int) -> Shard:
        """The shard, as its owner (the processor) needs it."""
        return await self._owned.read_through(shard, lambda: self._read(shard))

    async def _read(self, shard: int) -> Shard:
        document = await self._collection.find_one({"_id": _shard_id(shard)})
        if document is None:
            return Shard()
        return Shard(
            totals=Figures.from_document(document["totals"]),
            inflight={
                int(telegram_id): Figures.from_document(share)
                for telegram_id, share in document["inflight"].items()
            },
        )

    async def store(self, shard: int, state: Shard) -> None:
        document = {
            "totals": state.totals.to_document(),
            "inflight": {str(t): share.to_document() for t, share in state.inflight.items()},
        }
        await self._owned.write_through(
            shard,
            state,
            lambda: self._collection.replace_one({"_id": _shard_id(shard)}, document, upsert=True),
        )

    async def totals(self) -> Figures:
        """The figures over every shard (one lookup by ``_id`` each)."""
        total = Figures()
        for shard in range(self._partitions):
            total = total + (await self._read(shard)).totals
        return total


def _shard_id(shard: int) -> str:
    return f"shard:{shard}"
