"""What one lookup costs on the configured database, as a collection grows: ``find_one``
by ``_id``, ``update_one`` by ``_id`` and ``find_one`` by an indexed field, on documents
shaped like ``users`` (text ``_id``, indexed ``telegram_id`` and ``until``), with the
indexes the services create at start (:func:`keyland.indexes.ensure_indexes`, so on
FerretDB over PostgreSQL also its GIN indexes when ``KEYLAND_MONGO_POSTGRES_URL`` is set).

Run against the local stack (``make infra``), in a database of its own, dropped after:
``.venv/bin/python -m bench.lookups [documents ...] [--lookups N]`` (default 1000 20000,
40 lookups); medians and p90 per operation are printed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import typer
from pymongo.collection import Collection

from keyland.indexes import Owned, ensure_indexes
from keyland.mongo import Document, async_database, database, user_document_id
from keyland.settings import MongoSettings, load

INDEXED = (("telegram_id",), ("until",))
BATCH = 1000


def _document(telegram_id: int) -> Document:
    return {
        "_id": user_document_id(telegram_id), "telegram_id": telegram_id,
        "key_id": str(uuid.uuid4()), "registered": True, "username": f"user{telegram_id}",
        "until": datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=telegram_id),
        "entries": [{"kind": "started", "event_id": str(uuid.uuid4())}], "outbox": [],
    }  # fmt: skip


def _timed(action: Callable[[int], object], ids: list[int]) -> list[float]:
    taken = []
    for telegram_id in ids:
        started = time.perf_counter()
        action(telegram_id)
        taken.append((time.perf_counter() - started) * 1000)
    return taken


async def _create_indexes(mongo: MongoSettings) -> None:
    handle = async_database(mongo, app_name="bench")
    try:
        await ensure_indexes([Owned(handle["users"], INDEXED)], mongo.postgres_url)
    finally:
        await handle.client.close()


def _measure(users: Collection[Document], documents: int, lookups: int) -> None:
    sample = list(range(0, documents, max(1, documents // lookups)))[:lookups]
    operations = {
        "find by _id": lambda t: users.find_one({"_id": user_document_id(t)}),
        "update by _id": lambda t: users.update_one(
            {"_id": user_document_id(t)}, {"$set": {"outbox": []}}
        ),
        "find by telegram_id": lambda t: users.find_one({"telegram_id": t}),
    }
    for name, action in operations.items():
        taken = _timed(action, sample)
        p90 = statistics.quantiles(taken, n=10)[-1]
        print(
            f"{documents:>7,} docs  {name:<20} median {statistics.median(taken):8.1f} ms"
            f"  p90 {p90:8.1f} ms"
        )


def main(
    documents: list[int] = typer.Argument(None, help="Collection sizes (default 1000 20000)."),
    lookups: int = typer.Option(40, min=2, help="Lookups per operation and size."),
) -> None:
    configured = load(MongoSettings)
    mongo = configured.model_copy(update={"database": f"bench_lookups_{uuid.uuid4().hex[:8]}"})
    print(f"{mongo.url} (pushdown indexes: {'yes' if mongo.postgres_url else 'no'})")
    asyncio.run(_create_indexes(mongo))
    db = database(mongo, app_name="bench")
    try:
        stored = 0
        for size in sorted(documents or [1000, 20000]):
            for start in range(stored, size, BATCH):
                db.users.insert_many([_document(t) for t in range(start, min(size, start + BATCH))])
            stored = max(stored, size)
            _measure(db.users, size, lookups)
    finally:
        db.client.drop_database(mongo.database)
        db.client.close()


if __name__ == "__main__":
    typer.run(main)
