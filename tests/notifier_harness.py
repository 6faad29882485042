"""The Telegram emulator and a notifier worker for the notifier's integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emulators.serving import BackgroundServer
from emulators.telegram import BotAccount, EmulatorConfig, RateLimits, build_app
from tests.processes import Program

BOT_TOKEN = "700100:notifier-test-token"
BOT = "keyland_notifier_test_bot"


@contextmanager
def telegram(limits: RateLimits | None = None) -> Iterator[BackgroundServer]:
    server = BackgroundServer()
    config = EmulatorConfig(bots=(BotAccount(BOT_TOKEN, BOT),), rate_limits=limits or RateLimits())
    server.start(build_app(config))
    try:
        yield server
    finally:
        server.stop()


def notifier(
    env: dict[str, str], emulator: BackgroundServer, log_dir: Path, **settings: str
) -> Program:
    """A notifier worker (not started) on ``emulator``; ``settings`` are KEYLAND_NOTIFIER_*."""
    notifier_env = {
        **env,
        "KEYLAND_NOTIFIER_APP_ID": env["KEYLAND_SUBSCRIPTION_APP_ID"].replace(
            "subscription", "notifier"
        ),
        "KEYLAND_NOTIFIER_DATA_DIR": str(log_dir / "notifier-data"),
        "KEYLAND_NOTIFIER_BOT_TOKEN": BOT_TOKEN,
        "KEYLAND_NOTIFIER_TELEGRAM_API_URL": emulator.url,
        "KEYLAND_NOTIFIER_SCHEDULER_INTERVAL_S": "0.3",
        **{f"KEYLAND_NOTIFIER_{name.upper()}": value for name, value in settings.items()},
    }
    return Program("services.notifier", notifier_env, log_dir / "notifier.log")
