"""Declared indexes → the PostgreSQL statements that serve FerretDB's equality lookups."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from keyland.indexes import (
    MAX_IDENTIFIER,
    Owned,
    by_database,
    pushdown_index_name,
    pushdown_index_sql,
)
from keyland.mongo import Document


@pytest.fixture
async def db() -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient("mongodb://127.0.0.1:1/", connect=False)
    yield client["shop"]
    await client.close()


def test_the_statement_indexes_the_expression_ferretdb_filters_on() -> None:
    statement = pushdown_index_sql("shop", "users_5e7cc513", "telegram_id").as_string()
    name = pushdown_index_name("users_5e7cc513", "telegram_id")
    assert statement == (
        f'CREATE INDEX IF NOT EXISTS "{name}" ON "shop"."users_5e7cc513" '
        "USING gin ((_jsonb -> 'telegram_id'))"
    )


def test_names_are_quoted_not_spliced() -> None:
    statement = pushdown_index_sql('a"b', "t", "it's").as_string()
    assert '"a""b"."t"' in statement
    assert "(_jsonb -> 'it''s')" in statement


def test_index_names_fit_postgresql_and_differ_per_field() -> None:
    long_table = "x" * 63
    names = {pushdown_index_name(long_table, field) for field in ("a-b", "a_b", "A_b")}
    assert len(names) == 3
    assert all(len(name) <= MAX_IDENTIFIER and name.endswith("_gin") for name in names)
    assert pushdown_index_name("users_1", "until").startswith("users_1_until_")


def test_lookup_fields_are_id_then_each_declared_field_once(
    db: AsyncDatabase[Document],
) -> None:
    owned = Owned(db["deliveries"], (("broadcast_id", "status"), ("status",), ("telegram_id",)))
    assert owned.lookup_fields() == ("_id", "broadcast_id", "status", "telegram_id")
    assert Owned(db["claims"]).lookup_fields() == ("_id",)


@pytest.mark.parametrize("fields", [(), ("a.b",), ("$where",), ("",)])
def test_an_index_the_pushdown_cannot_use_is_refused_when_declared(
    db: AsyncDatabase[Document], fields: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="deliveries"):
        Owned(db["deliveries"], (fields,))


def test_two_owners_of_one_collection_add_up_per_database(
    db: AsyncDatabase[Document],
) -> None:
    other = db.client["other"]
    grouped = by_database(
        [
            Owned(db["node_keys"], (("kind",),)),
            Owned(db["node_keys"], (("node",), ("kind",))),
            Owned(other["node_keys"]),
        ]
    )
    assert grouped == {
        "shop": {"node_keys": ("_id", "kind", "node")},
        "other": {"node_keys": ("_id",)},
    }
