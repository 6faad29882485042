"""The local PostgreSQL's configuration and the directories its OS user must pass."""

from __future__ import annotations

from pathlib import Path

from keyland_tools.stack.postgres import blocked_ancestors, cluster_config, postgres_url
from keyland_tools.stack.settings import StackSettings


def settings(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#")
    return {key.strip(): value.strip() for key, value in pairs}


def test_the_cluster_plans_with_values_and_listens_on_loopback_only() -> None:
    config = settings(cluster_config(55999)["postgresql.conf"])
    assert config["plan_cache_mode"] == "force_custom_plan"
    assert config["listen_addresses"] == "'127.0.0.1'"
    assert config["port"] == "55999"
    assert config["unix_socket_directories"] == "''"
    assert config["fsync"] == "on"


def test_only_loopback_clients_are_let_in() -> None:
    rules = [
        line.split()
        for line in cluster_config(5)["pg_hba.conf"].splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules == [["host", "all", "all", "127.0.0.1/32", "trust"]]


def test_the_url_names_the_configured_port(tmp_path: Path) -> None:
    url = postgres_url(StackSettings(state_dir=tmp_path, postgres_port=55999))
    assert url == "postgresql://keyland@127.0.0.1:55999/postgres"


def test_a_closed_directory_above_the_data_blocks_another_user(tmp_path: Path) -> None:
    closed, open_ = tmp_path / "closed", tmp_path / "closed" / "open"
    data = open_ / "data"
    data.mkdir(parents=True)
    closed.chmod(0o700)
    open_.chmod(0o755)
    data.chmod(0o751)
    stranger = tmp_path.stat().st_uid + 4242

    blocked = blocked_ancestors(data, stranger)
    assert closed in blocked
    assert open_ not in blocked
    assert data not in blocked
    assert closed not in blocked_ancestors(data, closed.stat().st_uid)
