"""Keyland's own services and the SaaS emulators, as components of the local stack."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from keyland.settings import StackSettings
from keyland.stack.process import Daemon

ROOT = Path(__file__).resolve().parents[2]


class PythonService:
    """``python -m <module> <args>`` as a daemon; ready when its health URL answers 200
    (or, without one, when it has stayed up for a moment)."""

    def __init__(
        self,
        name: str,
        stack: StackSettings,
        module: str,
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        health_url: str | None = None,
    ) -> None:
        self.daemon = Daemon(name, stack.state_dir / "run", stack.state_dir / "log")
        self.argv = [sys.executable, "-m", module, *args]
        self.env = dict(env or {})
        self.health_url = health_url

    def fetch(self) -> Path:
        return ROOT

    def start(self, timeout_s: float = 60.0) -> None:
        if self.daemon.pid() is None:
            self.daemon.start(self.argv, cwd=ROOT, env=self.env)
        self.daemon.wait_ready(self.ready, timeout_s)

    def ready(self) -> bool:
        if self.health_url is None:
            return self.daemon.pid() is not None
        try:
            return httpx.get(self.health_url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> bool:
        return self.daemon.stop()
