"""The pymongo client factory and the shared document ids. Plain pymongo: it runs on
FerretDB and MongoDB alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient, MongoClient, ReplaceOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from keyland.settings import MongoSettings

Document = dict[str, Any]

DUPLICATE_KEY = 11000

UPDATES_PER_COMMAND = 8
"""The most update statements sent in one command.

FerretDB v1 (``updateDocument`` in its handler) opens a query for each statement of an
``update`` command and closes them all only when the command ends, each holding a pooled
PostgreSQL connection. A command of as many statements as the pool holds waits for a
connection it holds itself, and FerretDB answers nothing again (not even ``ping``). Eight
keeps one command's share of the local pool small (see ``keyland_tools.stack.ferretdb``)
at a round trip per eight writes, which FerretDB runs as eight transactions anyway."""


def user_document_id(telegram_id: int) -> str:
    """The ``_id`` of a user's document: ``user:<telegram_id>``, in ``users``,
    ``recipients`` and the provisioner's ``node_keys`` alike.

    A string, not the integer Telegram id: chosen when the local database was FerretDB on
    SQLite, which used its ``_id`` index only for string and ObjectId ids, and kept as the
    format of every stored user document. The integer stays in each document's
    ``telegram_id`` field, which is what readers take the id from. String order is not
    numeric order: ``user:10`` sorts before ``user:9``.
    """
    return f"user:{telegram_id}"


def _options(settings: MongoSettings, app_name: str) -> dict[str, Any]:
    return {
        "appname": app_name,
        "serverSelectionTimeoutMS": settings.timeout_ms,
        "connectTimeoutMS": settings.timeout_ms,
        "tz_aware": True,
        "maxPoolSize": settings.max_pool_size,
    }


async def bulk_update(
    collection: AsyncCollection[Document], writes: Sequence[UpdateOne | ReplaceOne[Document]]
) -> None:
    """Apply ``writes`` (unordered) in commands of at most :data:`UPDATES_PER_COMMAND`,
    one after the other."""
    for start in range(0, len(writes), UPDATES_PER_COMMAND):
        await collection.bulk_write(writes[start : start + UPDATES_PER_COMMAND], ordered=False)


def database(settings: MongoSettings, *, app_name: str) -> Database[Document]:
    """A synchronous handle on the configured database (CLI, sweeps, tests)."""
    client: MongoClient[Document] = MongoClient(settings.url, **_options(settings, app_name))
    return client[settings.database]


def async_client(settings: MongoSettings, *, app_name: str) -> AsyncMongoClient[Document]:
    """An asyncio client, its pool capped at ``settings.max_pool_size`` like every
    process's (the budget the local FerretDB's pool is sized for)."""
    return AsyncMongoClient(settings.url, **_options(settings, app_name))


def async_database(settings: MongoSettings, *, app_name: str) -> AsyncDatabase[Document]:
    """An asyncio handle on the configured database (services)."""
    return async_client(settings, app_name=app_name)[settings.database]


async def insert_new(
    collection: AsyncCollection[Document], documents: Sequence[Document]
) -> list[Any]:
    """Insert ``documents`` in one unordered command, leaving alone those whose ``_id`` is
    stored already; return those ``_id``s. Each ``_id`` goes in once (the first): FerretDB
    answers a duplicate inside one insert by inserting every document again on its own, a
    statement and a rollback each."""
    first: dict[Any, Document] = {}
    for document in documents:
        first.setdefault(document["_id"], document)
    sent = list(first.values())
    if not sent:
        return []
    try:
        await collection.insert_many(sent, ordered=False)
    except BulkWriteError as error:
        errors = error.details["writeErrors"]
        if any(e["code"] != DUPLICATE_KEY for e in errors):
            raise
        return [sent[e["index"]]["_id"] for e in errors]
    return []
