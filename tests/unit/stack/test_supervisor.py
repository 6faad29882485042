"""The supervisor restarts what crashes, with backoff, and records each crash."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from keyland_tools.stack.supervisor import Child, Supervisor


def child(tmp_path: Path, code: str, name: str = "flaky") -> Child:
    return Child(
        name, [sys.executable, "-c", code], dict(os.environ), tmp_path, tmp_path / f"{name}.log"
    )


def run_until(supervisor: Supervisor, condition: object, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline
        supervisor.step(time.monotonic())
        time.sleep(0.05)


def test_a_crashing_service_is_restarted_with_growing_backoff_and_recorded(tmp_path: Path) -> None:
    flaky = child(tmp_path, "import sys; print('about to fail'); sys.exit(3)")
    supervisor = Supervisor([flaky], tmp_path / "crashes.jsonl", tmp_path / "status.json")
    run_until(supervisor, lambda: flaky.restarts >= 2)
    assert flaky.last_exit == 3
    assert flaky.backoff_s == 4.0  # 1 s, then 2 s, now 4 s before the next try
    crashes = [json.loads(line) for line in (tmp_path / "crashes.jsonl").read_text().splitlines()]
    assert [c["service"] for c in crashes] == ["flaky", "flaky"]
    assert crashes[0]["exit_code"] == 3
    assert "about to fail" in crashes[0]["log_tail"]


def test_a_healthy_service_is_left_alone(tmp_path: Path) -> None:
    steady = child(tmp_path, "import time; time.sleep(30)", name="steady")
    supervisor = Supervisor([steady], tmp_path / "crashes.jsonl", tmp_path / "status.json")
    supervisor.step(time.monotonic())
    first = steady.process
    try:
        for _ in range(5):
            supervisor.step(time.monotonic())
            time.sleep(0.05)
        assert steady.process is first
        assert steady.restarts == 0
        assert not (tmp_path / "crashes.jsonl").exists()
    finally:
        steady.stop()
    assert first is not None
    assert first.poll() is not None
