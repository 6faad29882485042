"""FerretDB's PostgreSQL pool is raised above what our clients ask of it at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.baseline.app import MAX_POOL_SIZE as BASELINE_POOL
from keyland.settings import MongoSettings
from keyland_tools.stack.ferretdb import (
    FERRETDB_POOL,
    RESERVED_FOR_TOOLS,
    SERVICE_PROCESSES,
    check_pool_budget,
    pooled,
)
from keyland_tools.stack.process import StartError
from keyland_tools.stack.services import service_specs
from keyland_tools.stack.settings import StackSettings


def test_the_pool_size_is_added_to_a_plain_url() -> None:
    url = "postgresql://keyland@127.0.0.1:55432/postgres"
    assert pooled(url) == f"{url}?pool_max_conns={FERRETDB_POOL}"


def test_other_parameters_stay_and_an_operators_own_size_wins() -> None:
    assert pooled("postgres://h/db?sslmode=disable").endswith(
        f"?sslmode=disable&pool_max_conns={FERRETDB_POOL}"
    )
    assert pooled("postgres://h/db?pool_max_conns=80") == "postgres://h/db?pool_max_conns=80"


def test_the_services_pools_and_the_tools_reserve_fit_in_ferretdbs_pool() -> None:
    check_pool_budget(MongoSettings().max_pool_size)  # the default fits


def test_a_pool_size_that_could_exhaust_ferretdb_fails_naming_the_variable() -> None:
    with pytest.raises(StartError, match=r"KEYLAND_MONGO_MAX_POOL_SIZE=18 .*use at most 17"):
        check_pool_budget(18)
    check_pool_budget(17)


def test_the_budget_counts_every_service_process_of_the_stack(tmp_path: Path) -> None:
    # The node agents and the Mini App cabinet keep no database connection; every other
    # service of ours does.
    ours = [
        spec
        for spec in service_specs(StackSettings(state_dir=tmp_path))
        if spec.module.startswith("services.")
        and spec.module != "services.node_agent"
        and spec.args != ("cabinet",)
    ]
    assert len(ours) == SERVICE_PROCESSES


def test_the_benchmarks_baseline_stays_within_the_tools_reserve() -> None:
    assert BASELINE_POOL < RESERVED_FOR_TOOLS
