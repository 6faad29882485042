"""The benchmarks' seed-style baseline is measured on the same footing as Keyland: on
FerretDB over PostgreSQL its lookups by ``_id`` are served by the same kind of pushdown
index Keyland's collections get, not by reading the whole table."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from bench.baseline.harness import declare_lookups
from keyland.mongo import Document
from keyland.settings import MongoSettings
from tests.integration.test_pushdown_indexes import SCANS, plan_nodes, reads_whole_table


async def test_the_baselines_lookups_by_id_use_a_pushdown_index(
    mongo_settings: MongoSettings, db: Database[Document]
) -> None:
    if not mongo_settings.postgres_url:
        pytest.skip("needs FerretDB on PostgreSQL (KEYLAND_MONGO_POSTGRES_URL)")
    await declare_lookups(mongo_settings)
    db.users.insert_many([{"_id": n, "key_id": f"key-{n}"} for n in range(2000)])

    explained = db.command("explain", {"find": "users", "filter": {"_id": 1000}})
    nodes = list(plan_nodes(explained["queryPlanner"]["Plan"]))
    assert not reads_whole_table(nodes), nodes
    used = {node.get("Index Name", "") for node in nodes if node["Node Type"] in SCANS}
    assert any(name.endswith("_gin") for name in used), nodes
