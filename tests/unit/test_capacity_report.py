"""The load run's report: JSON kept and read back, its Markdown and chart, and
``keyland capacity`` printing it beside each node's current load."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from keyland.capacity import Level, Limits, Resource, capacity
from keyland.load_run import NodeReport, Report
from keyland_tools.capacity_report import chart_png, render_markdown
from keyland_tools.cli import app
from keyland_tools.stack.process import free_port

LIMITS = Limits(cpu_cores=2, memory_bytes=4 * 2**30, network_bps=125e6)
LEVELS = (
    Level(1, 0.02, 40e6, 250e3),
    Level(2, 0.04, 40e6, 500e3),
    Level(4, 0.08, 41e6, 1e6),
)


def report(price: str = "5.00") -> Report:
    node = NodeReport("finland", LEVELS, capacity(LEVELS, LIMITS))
    return Report(
        measured_at="2026-12-07T18:00:00+00:00",
        machine="x86_64, 2 cores, 4.0 GiB",
        command=".venv/bin/python -m bench.capacity",
        user_mbps=2.0,
        window_s=8.0,
        limits=LIMITS,
        monthly_price=Decimal(price),
        nodes=(node,),
        failed_fetches=0,
    )


def test_the_report_reads_back_as_written() -> None:
    written = report()
    again = Report.from_json(json.loads(json.dumps(written.as_json())))
    assert again == written
    assert again.nodes[0].capacity.first.resource is Resource.CPU
    assert again.nodes[0].capacity.active_users == 100


def test_the_markdown_states_the_saturation_point_cost_and_command() -> None:
    text = render_markdown(report(), chart="capacity.png")
    assert "cpu saturates first at 100 active users" in text
    assert "= 0.0500 per active user" in text
    assert "`.venv/bin/python -m bench.capacity`" in text
    assert "![capacity](capacity.png)" in text


def test_the_chart_is_a_picture() -> None:
    picture = Image.open(io.BytesIO(chart_png(report())))
    assert picture.format == "PNG"
    assert picture.size == (800, 480)


@pytest.fixture
def report_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "capacity.json"
    path.write_text(json.dumps(report().as_json()))
    monkeypatch.setenv("KEYLAND_CAPACITY_REPORT", str(path))
    monkeypatch.setenv("KEYLAND_PROVISIONER_NODE_TOKEN", "t" * 24)
    return path


def test_the_command_prints_the_load_run_beside_each_nodes_load(
    report_file: Path, tmp_path: Path
) -> None:
    countries = tmp_path / "countries.json"
    node = f"127.0.0.1:{free_port()}"
    countries.write_text(json.dumps({"finland": [node]}))
    result = CliRunner().invoke(
        app, ["capacity", "--countries-file", str(countries), "--monthly-price", "12"]
    )
    assert result.exit_code == 0, result.output
    assert f"finland {node}: no load: {node}: GET /v1/load: ClientConnectorError" in result.output
    assert "cpu saturates first at 100 active users" in result.output
    assert "12 a month per node = 0.1200 per active user" in result.output


def test_a_negative_price_is_refused(report_file: Path, tmp_path: Path) -> None:
    countries = tmp_path / "countries.json"
    countries.write_text(json.dumps({"finland": ["127.0.0.1:1"]}))
    result = CliRunner().invoke(
        app, ["capacity", "--countries-file", str(countries), "--monthly-price", "-1"]
    )
    assert result.exit_code == 2
    assert "negative" in result.output
