"""Lookups by ``_id`` in a collection of user documents: integer ids against the
``user:<telegram_id>`` text ids Keyland uses (:func:`keyland.mongo.user_document_id`).

FerretDB v1 on SQLite (the local database before PostgreSQL) used its ``_id`` index only
when the id was a string or an ObjectId, which is why user documents have text ids.
Against the local database (``make infra``), in its own database:
N documents shaped like ``users`` per key kind, then ``find_one`` and ``update_one`` by
id for a sample of them; the median and p90 per operation are printed.

Run: ``.venv/bin/python -m bench.user_ids [documents] [lookups]`` (default 3000 40).
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from pymongo.collection import Collection

from keyland.mongo import Document, database, user_document_id
from keyland.settings import MongoSettings, load

FIRST = 500_000_000


def _document(telegram_id: int, key: int | str) -> Document:
    return {
        "_id": key, "telegram_id": telegram_id, "key_id": str(uuid.uuid4()), "registered": True,
        "registered_at": datetime.now(UTC), "username": f"user{telegram_id}", "until": None,
        "entries": [{"kind": "started", "event_id": str(uuid.uuid4())}], "outbox": [],
    }  # fmt: skip


def _timed(action: Callable[[], object], times: int) -> list[float]:
    taken = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        taken.append((time.perf_counter() - started) * 1000)
    return taken


def measure(collection: Collection[Document], keys: list[int | str], lookups: int) -> None:
    sample = keys[:: max(1, len(keys) // lookups)][:lookups]  # spread over the collection
    found = iter(sample)
    reads = _timed(lambda: collection.find_one({"_id": next(found)}), lookups)
    updated = iter(sample)
    writes = _timed(
        lambda: collection.update_one({"_id": next(updated)}, {"$set": {"outbox": []}}), lookups
    )
    kind = type(keys[0]).__name__
    for name, taken in (("find_one", reads), ("update_one", writes)):
        p90 = statistics.quantiles(taken, n=10)[-1]
        print(
            f"{kind:>4} _id  {name:<10} median {statistics.median(taken):7.1f} ms  p90 {p90:7.1f} ms"
        )


def main(documents: int, lookups: int) -> None:
    mongo = MongoSettings(url=load(MongoSettings).url, database=f"bench_ids_{uuid.uuid4().hex[:8]}")
    db = database(mongo, app_name="bench")
    ids = list(range(FIRST, FIRST + documents))
    try:
        print(f"{documents:,} user documents per key kind, {lookups} lookups each")
        for name, key in (("by_int", lambda t: t), ("by_text", user_document_id)):
            collection = db[name]
            keys: list[int | str] = [key(t) for t in ids]
            collection.insert_many([_document(t, k) for t, k in zip(ids, keys, strict=True)])
            measure(collection, keys, lookups)
    finally:
        db.client.drop_database(mongo.database)
        db.client.close()


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 3000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 40,
    )
