"""FerretDB's PostgreSQL pool is raised above what our clients ask of it at once."""

from __future__ import annotations

from keyland_tools.stack.ferretdb import FERRETDB_POOL, pooled


def test_the_pool_size_is_added_to_a_plain_url() -> None:
    url = "postgresql://keyland@127.0.0.1:55432/postgres"
    assert pooled(url) == f"{url}?pool_max_conns={FERRETDB_POOL}"


def test_other_parameters_stay_and_an_operators_own_size_wins() -> None:
    assert pooled("postgres://h/db?sslmode=disable").endswith(
        f"?sslmode=disable&pool_max_conns={FERRETDB_POOL}"
    )
    assert pooled("postgres://h/db?pool_max_conns=80") == "postgres://h/db?pool_max_conns=80"
