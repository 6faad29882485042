"""On FerretDB over PostgreSQL, a lookup by ``_id`` or by any key an adapter declares is
served by an index, not by reading the whole table: PostgreSQL's own plan, obtained
through FerretDB's ``explain`` (FerretDB runs ``EXPLAIN`` on the SQL it would send)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from events.registry import TopicNames
from keyland.indexes import Owned, ensure_indexes
from keyland.mongo import Document, async_database
from keyland.settings import MongoSettings
from services.bot.adapters.fsm_storage import FsmStorage
from services.notifier.adapters.broadcasts import Broadcasts
from services.notifier.adapters.claims import Claims
from services.notifier.adapters.notices import Notices
from services.notifier.adapters.users import Users as Recipients
from services.payments_ingest.adapters.orders import Orders
from services.provisioner.adapters.repository import UserAccesses
from services.subscription.adapters.expiry_marks import ExpiryMarks
from services.subscription.adapters.payments import Payments
from services.subscription.adapters.schedule import Schedule
from services.subscription.adapters.users import Users
from tests.processes import Program
from tests.waiting import eventually

DOCUMENTS = 2000
SCANS = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}


@pytest.fixture(scope="module")
def postgres_url(mongo_settings: MongoSettings) -> str:
    if not mongo_settings.postgres_url:
        pytest.skip("needs FerretDB on PostgreSQL (KEYLAND_MONGO_POSTGRES_URL)")
    return mongo_settings.postgres_url


@pytest.fixture(scope="module")
async def handle(mongo_settings: MongoSettings) -> AsyncIterator[AsyncDatabase[Document]]:
    handle = async_database(mongo_settings, app_name="tests")
    yield handle
    await handle.client.close()


def every_owned(handle: AsyncDatabase[Document], prefix: str) -> list[Owned]:
    """What each service's composition root declares, on collections named for this test."""
    db = handle
    fsm = FsmStorage(handle.client, db_name=handle.name, collection_name=f"{prefix}fsm")
    return [
        *Users(db[f"{prefix}users"]).owned(),
        *Payments(db[f"{prefix}payments"]).owned(),
        *Schedule(db[f"{prefix}due"]).owned(),
        *ExpiryMarks(db[f"{prefix}marks"]).owned(),
        *Notices(db[f"{prefix}notices"], db[f"{prefix}outcomes"], db[f"{prefix}schedule"]).owned(),
        *Claims(db[f"{prefix}claims"], "tests").owned(),
        *Recipients(db[f"{prefix}profiles"], db[f"{prefix}recipients"]).owned(),
        *Broadcasts(db[f"{prefix}broadcasts"], db[f"{prefix}deliveries"]).owned(),
        *UserAccesses(db[f"{prefix}node_keys"]).owned(),
        *fsm.owned(),
        *Orders(db[f"{prefix}orders"]).owned(),
    ]


def fill(db: Database[Document], owned: list[Owned]) -> None:
    """``DOCUMENTS`` documents in each collection, every lookup field distinct."""
    for declared in owned:
        fields = declared.lookup_fields()
        db[declared.collection.name].insert_many(
            [{field: f"{field}-{n}" for field in fields} for n in range(DOCUMENTS)]
        )


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def plan_of(db: Database[Document], collection: str, field: str) -> list[dict[str, Any]]:
    value = f"{field}-{DOCUMENTS // 2}"
    explained = db.command("explain", {"find": collection, "filter": {field: value}})
    assert explained["filterPushdown"] is True, explained
    return list(plan_nodes(explained["queryPlanner"]["Plan"]))


def reads_whole_table(nodes: list[dict[str, Any]]) -> bool:
    return any(node["Node Type"] == "Seq Scan" for node in nodes)


async def test_each_lookup_is_served_by_an_index_not_a_whole_table_read(
    postgres_url: str,
    handle: AsyncDatabase[Document],
    db: Database[Document],
) -> None:
    owned = every_owned(handle, "lookup_")
    lookups = {(d.collection.name, field) for d in owned for field in d.lookup_fields()}
    await ensure_indexes(owned, postgres_url)
    fill(db, owned)

    for collection, field in sorted(lookups):
        nodes = plan_of(db, collection, field)
        assert not reads_whole_table(nodes), (collection, field, nodes)
        used = {node.get("Index Name", "") for node in nodes if node["Node Type"] in SCANS}
        assert any(name.endswith("_gin") for name in used), (collection, field, nodes)


async def test_without_the_pushdown_indexes_the_same_lookups_read_the_whole_table(
    postgres_url: str,
    handle: AsyncDatabase[Document],
    db: Database[Document],
) -> None:
    """Why they exist: FerretDB's own indexes (made here, without the PostgreSQL URL) are
    btrees that cannot answer its ``@>`` filter."""
    owned = every_owned(handle, "bare_")
    await ensure_indexes(owned, postgres_url="")
    fill(db, owned)

    users = owned[0]
    for field in users.lookup_fields():
        assert reads_whole_table(plan_of(db, users.collection.name, field)), field


def test_the_cluster_plans_prepared_statements_with_their_values(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as pg:
        row = pg.execute("SHOW plan_cache_mode").fetchone()
    assert row == ("force_custom_plan",)


async def test_a_worker_creates_its_collections_and_their_indexes_at_start(
    postgres_url: str, worker: Program, mongo_settings: MongoSettings, created_topics: TopicNames
) -> None:
    """The subscription worker's composition root, before any event arrives."""
    schema = mongo_settings.database

    def gin_indexes() -> set[str]:
        with psycopg.connect(postgres_url) as pg:
            rows = pg.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND indexname LIKE %s",
                [schema, "%_gin"],
            ).fetchall()
        return {name for (name,) in rows}

    expected = {"users": 3, "payments": 3, "expiry_marks": 1, "expiry_due": 3}  # _id + declared

    def gin_per_collection() -> dict[str, int]:
        names = gin_indexes()
        return {c: sum(name.startswith(f"{c}_") for name in names) for c in expected}

    await eventually(lambda: gin_per_collection() == expected, worker)
