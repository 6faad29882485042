"""The benchmarks' measuring tools: percentiles, /proc sampling, the stack's pids."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.measure import ProcessSampler, process_tree, quantile, spread_ms, stack_pids

BUSY = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"


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


class TestProcessTrees:
    """PostgreSQL's work is done by backends the postmaster forks and reaps: a process's
    row counts its descendants, live or ended."""

    async def test_a_child_that_ended_meanwhile_is_counted(self) -> None:
        async with ProcessSampler({"me": os.getpid()}, interval_s=0.05) as sampler:
            await asyncio.to_thread(subprocess.run, [sys.executable, "-c", BUSY], check=True)
        assert sampler.usage["me"].cpu_s >= 0.2

    async def test_a_child_still_running_is_counted(self) -> None:
        script = BUSY + "print('done', flush=True)\ntime.sleep(30)\n"
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
        )
        try:
            async with ProcessSampler({"me": os.getpid()}, interval_s=0.05) as sampler:
                assert child.stdout is not None
                await child.stdout.readline()
        finally:
            child.kill()
            await child.wait()
        assert sampler.usage["me"].cpu_s >= 0.2

    def test_a_descendant_named_on_its_own_row_is_left_out_of_its_parents(self) -> None:
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert child.pid in process_tree(os.getpid())
            assert child.pid not in process_tree(os.getpid(), exclude={child.pid})
            assert process_tree(child.pid) == [child.pid]
        finally:
            child.kill()
            child.wait()

    def test_a_process_that_is_gone_has_no_tree(self) -> None:
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()
        assert process_tree(child.pid) == []


def test_stack_pids_come_from_the_supervisor_and_the_pid_files(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    children = {"bot": {"pid": 11}, "notifier": {"pid": None}}
    (run / "services.json").write_text(json.dumps(children))
    (run / "kafka.pid").write_text("22\n")
    (run / "supervisor.pid").write_text("33\n")
    assert stack_pids(tmp_path) == {"bot": 11, "kafka": 22}
