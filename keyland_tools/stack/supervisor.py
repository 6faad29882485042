"""A small supervisor: runs the stack's services, restarts what crashes, keeps a record.

Each child is restarted with exponential backoff (1 s doubling to 60 s; back to 1 s after
a minute of health). Every crash is recorded — which service, when, its exit code and the
tail of its log — as one JSON line in ``<state_dir>/log/crashes.jsonl``, which
``keyland stack crashes`` and admins read. SIGTERM stops every child, then the supervisor.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
HEALTHY_AFTER_S = 60.0


@dataclass
class Child:
    """One supervised program."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: Path
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff_s: float = 1.0
    restart_at: float = 0.0
    restarts: int = 0
    last_exit: int | None = field(default=None)

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - argv built by the stack
                list(self.argv), cwd=self.cwd, env=dict(self.env), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.started_at = time.monotonic()

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Supervisor:
    def __init__(self, children: Sequence[Child], crash_log: Path, status_file: Path) -> None:
        self.children = list(children)
        self.crash_log = crash_log
        self.status_file = status_file
        self._stopping = False

    def _record_crash(self, child: Child, code: int) -> None:
        record = {
            "service": child.name,
            "at": datetime.now(UTC).isoformat(),
            "exit_code": code,
            "restarts": child.restarts,
            "log_tail": tail(child.log_file),
        }
        self.crash_log.parent.mkdir(parents=True, exist_ok=True)
        with self.crash_log.open("a") as out:
            out.write(json.dumps(record) + "\n")
        log.error("%s exited with %s; restarting in %.0fs", child.name, code, child.backoff_s)

    def _write_status(self) -> None:
        status = {
            child.name: {
                "pid": child.process.pid
                if child.process and child.process.poll() is None
                else None,
                "restarts": child.restarts,
                "last_exit": child.last_exit,
            }
            for child in self.children
        }
        self.status_file.parent.mkdir(parents=True, exist_ok=True)
        # Readers (`stack status`, readiness) must never see a half-written file.
        partial = self.status_file.with_suffix(".tmp")
        partial.write_text(json.dumps(status, indent=2))
        os.replace(partial, self.status_file)

    def step(self, now: float) -> None:
        """One supervision round: notice exits, schedule and perform restarts."""
        for child in self.children:
            if child.process is None:
                if now >= child.restart_at:
                    child.start()
                continue
            code = child.process.poll()
            if code is None:
                if now - child.started_at > HEALTHY_AFTER_S:
                    child.backoff_s = 1.0
                continue
            child.last_exit, child.process = code, None
            self._record_crash(child, code)
            child.restart_at = now + child.backoff_s
            child.backoff_s = min(child.backoff_s * 2, MAX_BACKOFF_S)
            child.restarts += 1

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self._stop())
        signal.signal(signal.SIGINT, lambda *_: self._stop())
        try:
            while not self._stopping:
                self.step(time.monotonic())
                self._write_status()
                time.sleep(0.2)
        finally:
            for child in reversed(self.children):
                child.stop()
            with contextlib.suppress(OSError):
                self.status_file.unlink()

    def _stop(self) -> None:
        self._stopping = True
