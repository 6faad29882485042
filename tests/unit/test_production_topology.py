"""infra/production/ stays true to the code: its units, instance files, settings and Kafka
properties (what can drift as services, settings and units change)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.unit.test_env_example import documented

PRODUCTION = Path(__file__).resolve().parents[2] / "infra" / "production"
SYSTEMD = PRODUCTION.parent / "systemd"
INSTANCE_FILES = sorted((PRODUCTION / "instances").glob("*.env"))


def properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


@pytest.mark.parametrize("path", INSTANCE_FILES, ids=lambda p: p.name)
def test_an_instance_file_names_a_template_unit_and_sets_only_known_variables(
    path: Path,
) -> None:
    template, instance = path.stem.split("@")
    assert (SYSTEMD / f"{template}@.service").exists()
    assert instance.isdigit()
    assert set(dotenv_values(path)) <= documented()


def test_every_variable_the_topology_names_is_a_setting() -> None:
    named = set(re.findall(r"\b(KEYLAND_[A-Z0-9_]+?)=", (PRODUCTION / "README.md").read_text()))
    named -= {"KEYLAND_<SERVICE>_APP_ID"}
    assert named
    assert named <= documented()


def test_the_topology_lists_every_template_unit() -> None:
    text = (PRODUCTION / "README.md").read_text()
    templates = {path.name.removesuffix(".service") for path in SYSTEMD.glob("*@.service")}
    assert templates
    assert {t for t in templates if f"`{t}`" not in text} == set()


def test_the_kafka_hosts_keep_three_copies_two_in_sync_also_for_internal_topics() -> None:
    config = properties(PRODUCTION / "kafka" / "server.properties")
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ):
        assert config[key] == "3", key
    assert config["min.insync.replicas"] == config["transaction.state.log.min.isr"] == "2"
    voters = config["controller.quorum.bootstrap.servers"].split(",")
    assert len(voters) == 3
    assert config["auto.create.topics.enable"] == "false"


def test_the_local_broker_template_sets_every_key_the_production_one_sets() -> None:
    local = properties(PRODUCTION.parent / "kafka" / "server.properties")
    production = properties(PRODUCTION / "kafka" / "server.properties")
    assert set(production) - set(local) <= {"unclean.leader.election.enable"}
