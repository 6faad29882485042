"""The benchmarks' measuring tools: percentiles, /proc sampling, the stack's pids."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from bench.measure import ProcessSampler, quantile, spread_ms, stack_pids


class TestPercentiles:
    def test_quantiles_pick_ranks_of_the_sorted_values(self) -> None:
        values = [float(v) for v in range(100, 0, -1)]
        assert quantile(values, 0.5) == 51.0
        assert quantile(values, 0.99) == 99.0
        assert quantile(values, 1.0) == 100.0

    def test_a_spread_is_in_milliseconds_and_dashes_when_empty(self) -> None:
        assert spread_ms([0.001, 0.002, 0.003]).split() == ["2", "3", "3", "3"]
        assert spread_ms([]).split() == ["-"] * 4


async def test_the_sampler_sees_cpu_spent_and_memory_held_meanwhile() -> None:
    async with ProcessSampler({"me": os.getpid()}, interval_s=0.05) as sampler:
        busy_until = time.process_time() + 0.3
        while time.process_time() < busy_until:
            pass
    usage = sampler.usage["me"]
    assert usage.cpu_s >= 0.2
    assert usage.peak_rss_mb > 1


def test_stack_pids_come_from_the_supervisor_and_the_pid_files(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    children = {"bot": {"pid": 11}, "notifier": {"pid": None}}
    (run / "services.json").write_text(json.dumps(children))
    (run / "kafka.pid").write_text("22\n")
    (run / "supervisor.pid").write_text("33\n")
    assert stack_pids(tmp_path) == {"bot": 11, "kafka": 22}
