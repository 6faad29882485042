"""A short load run (``bench.capacity``) through two nodes started here, on free loopback
ports (real Xray and agent each; real VLESS clients). Needs neither Kafka nor the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.capacity import NodeUnderLoad, run
from keyland.capacity import Resource, cost_per_user
from keyland_tools.cli import app
from keyland_tools.stack.node import Node
from tests.nodes import agent_client, eventually, start_node


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    state = tmp_path_factory.mktemp("state")
    started = [start_node(state, "finland"), start_node(state, "germany")]
    yield started
    for node in started:
        node.stop()


def address(node: Node) -> str:
    return node.url.removeprefix("http://")


def under_load(node: Node) -> NodeUnderLoad:
    token = node.agent.environment["KEYLAND_NODE_TOKEN"]
    return NodeUnderLoad(node.name, node.url, token, node.xray.api_port)


async def test_a_short_run_measures_both_nodes_and_removes_its_users(
    nodes: list[Node], tmp_path: Path
) -> None:
    report = await run(
        [under_load(node) for node in nodes],
        nodes[0].xray.build,
        tmp_path,
        (4.0, 2.0, 1000.0, Decimal("6.00")),
        levels=(1, 3),
    )
    assert [node.name for node in report.nodes] == ["finland", "germany"]
    for measured in report.nodes:
        assert [level.active_users for level in measured.levels] == [1, 3]
        low, high = measured.levels
        assert 0 < low.throughput_bps < high.throughput_bps
        assert low.memory_bytes > 0
        network = next(fit for fit in measured.capacity.fits if fit.resource is Resource.NETWORK)
        assert network.users_at_limit is not None
        held = measured.capacity.active_users
        assert held is not None
        assert report.cost_per_user(measured) == cost_per_user(Decimal("6.00"), held)
    for node in nodes:
        with agent_client(node) as api:
            assert api.get("/v1/users").json()["key_ids"] == []


def test_the_command_shows_each_nodes_current_load(
    nodes: list[Node], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    countries = tmp_path / "countries.json"
    countries.write_text(json.dumps({n.name: [address(n)] for n in nodes}))
    tokens = {address(n): n.agent.environment["KEYLAND_NODE_TOKEN"] for n in nodes}
    monkeypatch.setenv("KEYLAND_PROVISIONER_NODE_TOKENS", json.dumps(tokens))
    monkeypatch.setenv("KEYLAND_CAPACITY_REPORT", str(tmp_path / "absent.json"))

    def shown() -> bool:
        result = CliRunner().invoke(app, ["capacity", "--countries-file", str(countries)])
        assert result.exit_code == 0, result.output
        return all(
            f"{n.name} {address(n)}: 0 online users, 0 connections" in result.output for n in nodes
        )

    assert eventually(shown, timeout_s=20)
