"""Keyland's own services and the SaaS emulators, run under the supervisor."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from keyland_tools.stack.local_env import (
    EMULATED_BOT_USERNAME,
    TELEGRAM_EMULATOR_PORT,
    YOOKASSA_EMULATOR_PORT,
    emulating_telegram,
    emulating_yookassa,
    local_env,
)
from keyland_tools.stack.process import Daemon
from keyland_tools.stack.settings import StackSettings
from keyland_tools.stack.supervisor import Child

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ServiceSpec:
    """``python -m <module> <args>``; ready when ``health_url`` answers 200 (if it has one)."""

    name: str
    module: str
    args: tuple[str, ...] = ()
    health_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def child(self, log_dir: Path) -> Child:
        return Child(
            name=self.name,
            argv=[sys.executable, "-m", self.module, *self.args],
            env={**os.environ, **self.env},
            cwd=ROOT,
            log_file=log_dir / f"{self.name}.log",
        )


def _ops_health(env: dict[str, str], service: str) -> str:
    return f"http://127.0.0.1:{env[f'KEYLAND_{service}_OPS_PORT']}/health"


def service_specs(stack: StackSettings) -> list[ServiceSpec]:
    """Every program of the local stack besides Kafka and the database, in start order."""
    env = local_env(stack)
    specs: list[ServiceSpec] = []
    if emulating_yookassa(env):
        specs.append(
            ServiceSpec(
                "yookassa-emulator", "emulators.yookassa",
                args=(
                    "--port", str(YOOKASSA_EMULATOR_PORT),
                    "--shop-id", env["KEYLAND_PAYMENTS_YOOKASSA_SHOP_ID"],
                    "--secret-key", env["KEYLAND_PAYMENTS_YOOKASSA_SECRET_KEY"],
                    "--webhook-url", f"http://127.0.0.1:{env['KEYLAND_PAYMENTS_PORT']}/webhooks/yookassa",
                ),
                health_url=f"http://127.0.0.1:{YOOKASSA_EMULATOR_PORT}/emulator/webhook",
            )
        )  # fmt: skip
    if emulating_telegram(env):
        specs.append(
            ServiceSpec(
                "telegram-emulator", "emulators.telegram",
                args=(
                    "--port", str(TELEGRAM_EMULATOR_PORT),
                    "--token", env["KEYLAND_EMULATED_BOT_TOKEN"],
                    "--bot-username", EMULATED_BOT_USERNAME,
                ),
                health_url=f"http://127.0.0.1:{TELEGRAM_EMULATOR_PORT}/emulator/bots",
            )
        )  # fmt: skip
    specs += [
        ServiceSpec(
            "subscription", "services.subscription", ("worker",), env=env,
            health_url=_ops_health(env, "SUBSCRIPTION"),
        ),
        ServiceSpec(
            "subscription-api", "services.subscription", ("api",), env=env,
            health_url=f"http://127.0.0.1:{env['KEYLAND_SUBSCRIPTION_API_PORT']}/health",
        ),
        ServiceSpec(
            "payments-ingest", "services.payments_ingest", env=env,
            health_url=f"http://127.0.0.1:{env['KEYLAND_PAYMENTS_PORT']}/health",
        ),
        ServiceSpec(
            "provisioner", "services.provisioner", ("worker",), env=env,
            health_url=_ops_health(env, "PROVISIONER"),
        ),
        ServiceSpec(
            "provisioner-api", "services.provisioner", ("api",), env=env,
            health_url=f"http://127.0.0.1:{env['KEYLAND_PROVISIONER_API_PORT']}/health",
        ),
        ServiceSpec(
            "notifier", "services.notifier", env=env, health_url=_ops_health(env, "NOTIFIER")
        ),
        ServiceSpec("bot", "services.bot", env=env, health_url=_ops_health(env, "BOT")),
        ServiceSpec(
            "cabinet", "services.bot", ("cabinet",), env=env,
            health_url=f"http://127.0.0.1:{env['KEYLAND_BOT_CABINET_PORT']}/health",
        ),
    ]  # fmt: skip
    return specs


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


class SupervisedServices:
    """The supervisor daemon and, under it, every service: one component of the stack."""

    def __init__(self, stack: StackSettings) -> None:
        self.stack = stack
        self.daemon = Daemon("supervisor", stack.state_dir / "run", stack.state_dir / "log")
        self.status_file = stack.state_dir / "run" / "services.json"

    def fetch(self) -> Path:
        return ROOT

    def start(self, timeout_s: float = 90.0) -> None:
        if self.daemon.pid() is None:
            self.daemon.start(
                [sys.executable, "-m", "keyland_tools", "stack", "supervise"], cwd=ROOT
            )
        self.daemon.wait_ready(self.ready, timeout_s)

    def children(self) -> dict[str, dict[str, int | None]]:
        try:
            status: dict[str, dict[str, int | None]] = json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}
        return status

    def ready(self) -> bool:
        running = self.children()
        for spec in service_specs(self.stack):
            if (running.get(spec.name) or {}).get("pid") is None:
                return False
            if spec.health_url is not None and not _answers(spec.health_url):
                return False
        return bool(running)

    def stop(self) -> bool:
        return self.daemon.stop(timeout_s=40.0)

    def describe(self) -> list[str]:
        lines = []
        for name, child in self.children().items():
            state = f"pid {child['pid']}" if child["pid"] else "restarting"
            lines.append(
                f"  {name}: {state}, restarts {child['restarts']}, last exit {child['last_exit']}"
            )
        return lines
