"""Waiting for asynchronous effects in tests, failing with the program's log when it died."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tests.processes import Program


async def eventually(check: Callable[[], bool], *programs: Program, timeout_s: float = 60) -> None:
    """Poll ``check`` until it holds; fail early if one of ``programs`` exited."""
    deadline = time.monotonic() + timeout_s
    while not check():
        for program in programs:
            assert program.process is not None, f"{program.module} is not running"
            assert program.process.poll() is None, (
                f"{program.module} exited:\n{program.log()[-4000:]}"
            )
        logs = "".join(f"\n--- {p.module}:\n{p.log()[-3000:]}" for p in programs)
        assert time.monotonic() < deadline, f"timed out after {timeout_s}s{logs}"
        await asyncio.sleep(0.2)
