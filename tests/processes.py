"""Run one of our programs as a real child process, as production would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from keyland_tools.stack.process import free_port

__all__ = ["ROOT", "Program", "free_port", "wait_http"]  # free_port: one copy, in keyland

ROOT = Path(__file__).resolve().parents[1]


class Program:
    """``python -m module`` with extra environment; output goes to a log file."""

    def __init__(
        self, module: str, env: Mapping[str, str], log_file: Path, args: Sequence[str] = ()
    ) -> None:
        self.module = module
        self.args = list(args)
        self.env = {**os.environ, **env}
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Program:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 30) -> int:
        """Signal the program and wait; SIGKILL if it does not exit in time."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        return code

    def kill(self) -> int:
        return self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def wait_http(url: str, program: Program | None = None, timeout_s: float = 30) -> None:
    """Wait until ``url`` answers any HTTP status (the server is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            if (
                program is not None
                and program.process is not None
                and program.process.poll() is not None
            ):
                raise RuntimeError(f"{program.module} exited:\n{program.log()[-3000:]}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer in {timeout_s}s") from None
            time.sleep(0.1)
        else:
            return
