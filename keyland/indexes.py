"""Each collection's indexes, declared once by the adapter that owns the collection and
created at start by its service, on MongoDB and FerretDB alike.

On FerretDB's PostgreSQL backend the indexes FerretDB creates itself do not serve its own
lookups: it pushes an equality filter down as ``_jsonb->'field' @> value``, which a btree
on ``_jsonb->'field'`` cannot answer, so every find (and the find inside every update)
reads the whole table. For ``_id`` and every declared field a GIN index on the same
expression serves it (with ``plan_cache_mode = force_custom_plan`` on the cluster, since
FerretDB's prepared statements pass the field name as a parameter). These are created in
PostgreSQL directly, beside FerretDB's tables, when ``KEYLAND_MONGO_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

import psycopg
from psycopg import sql
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import CollectionInvalid, OperationFailure

from keyland.mongo import Document
from keyland.retry import retry_transient

NAMESPACE_EXISTS = 48  # a concurrent start created the collection first
# FerretDB's table of its collections (and their tables) in each database's schema.
FERRETDB_METADATA = "_ferretdb_database_metadata"
MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names


@dataclass(frozen=True)
class Owned:
    """A collection and its secondary indexes, each a tuple of top-level field names
    (ascending). ``_id`` is always indexed; a collection with no other lookups declares
    none, and is still created at start and gets its ``_id`` pushdown index."""

    collection: AsyncCollection[Document]
    indexes: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        for fields in self.indexes:
            if not fields:
                raise ValueError(f"{self.collection.name}: an index needs at least one field")
            for field in fields:
                if not field or "." in field or field.startswith("$"):
                    raise ValueError(
                        f"{self.collection.name}: index field {field!r} must be a top-level "
                        "field name (no dots, no leading $)"
                    )

    def lookup_fields(self) -> tuple[str, ...]:
        """``_id`` and every declared field, once each: what an equality lookup may use."""
        fields = ["_id", *(field for index in self.indexes for field in index)]
        return tuple(dict.fromkeys(fields))


async def ensure_indexes(owned: Iterable[Owned], postgres_url: str) -> None:
    """Create each collection and its declared indexes (existing ones are left alone), then,
    with ``postgres_url``, the PostgreSQL indexes that serve FerretDB's equality lookups."""
    owned = list(owned)
    for declared in owned:
        await _create_collection(declared.collection)
        for fields in declared.indexes:
            await declared.collection.create_index([(field, ASCENDING) for field in fields])
    if postgres_url:
        await _create_pushdown_indexes(postgres_url, owned)


def prepared(owned: list[Owned], postgres_url: str) -> Callable[[], Awaitable[None]]:
    """A start-up task for a service: :func:`ensure_indexes`, waiting while the database
    is unreachable."""

    async def prepare() -> None:
        await retry_transient(lambda: ensure_indexes(owned, postgres_url))

    return prepare


async def _create_collection(collection: AsyncCollection[Document]) -> None:
    # Created before the first write: FerretDB on PostgreSQL creating tables on first use
    # once delayed the first journey on a fresh database past its deadline.
    try:
        await collection.database.create_collection(collection.name)
    except CollectionInvalid:
        pass  # exists already
    except OperationFailure as error:
        if error.code != NAMESPACE_EXISTS:
            raise


async def _create_pushdown_indexes(postgres_url: str, owned: list[Owned]) -> None:
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as pg:
        for schema, collections in by_database(owned).items():
            # One service at a time per database: concurrent CREATE INDEX IF NOT EXISTS
            # of one name can still collide in PostgreSQL's catalog.
            async with pg.transaction():
                await pg.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [schema])
                tables = await _tables(pg, schema)
                for name, fields in collections.items():
                    if name not in tables:
                        raise RuntimeError(f"FerretDB has no table for {schema}.{name}")
                    for field in fields:
                        await pg.execute(pushdown_index_sql(schema, tables[name], field))


def by_database(owned: list[Owned]) -> dict[str, dict[str, tuple[str, ...]]]:
    grouped: dict[str, dict[str, tuple[str, ...]]] = {}
    for declared in owned:
        collection = declared.collection
        known = grouped.setdefault(collection.database.name, {}).get(collection.name, ())
        fields = dict.fromkeys([*known, *declared.lookup_fields()])
        grouped[collection.database.name][collection.name] = tuple(fields)
    return grouped


async def _tables(pg: psycopg.AsyncConnection[tuple[str, str]], schema: str) -> Mapping[str, str]:
    """Collection name → the table FerretDB keeps it in (hashed names; see its metadata)."""
    query = sql.SQL("SELECT _jsonb->>'_id', _jsonb->>'table' FROM {}").format(
        sql.Identifier(schema, FERRETDB_METADATA)
    )
    cursor = await pg.execute(query)
    return dict(await cursor.fetchall())


def pushdown_index_sql(schema: str, table: str, field: str) -> sql.Composed:
    """``CREATE INDEX IF NOT EXISTS`` of the GIN index on ``_jsonb->'field'`` that serves
    FerretDB's ``_jsonb->'field' @> value`` for ``table`` in ``schema``."""
    return sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} USING gin ((_jsonb -> {}))").format(
        sql.Identifier(pushdown_index_name(table, field)),
        sql.Identifier(schema, table),
        sql.Literal(field),
    )


def pushdown_index_name(table: str, field: str) -> str:
    """``<table>_<field>_<hash>_gin``: readable, and distinct for fields that read alike
    once sanitised or cut to PostgreSQL's 63 characters."""
    readable = f"{table}_{re.sub(r'[^a-z0-9_]', '_', field.lower())}"
    digest = hashlib.sha256(f"{table}\0{field}".encode()).hexdigest()[:8]
    return f"{readable[: MAX_IDENTIFIER - 13]}_{digest}_gin"
