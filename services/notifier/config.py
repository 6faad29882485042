"""Notifier settings (``KEYLAND_NOTIFIER_*``)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from keyland.countries import CountriesFile, regions
from keyland.settings import RunsWorker


class NotifierSettings(RunsWorker):
    model_config = SettingsConfigDict(
        env_prefix="KEYLAND_NOTIFIER_", env_file=".env", extra="ignore"
    )

    app_id: str = Field(default="keyland-notifier", min_length=1)
    data_dir: Path = Path("var/notifier")
    instance: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    bot_token: SecretStr = Field(description="The bot's token from @BotFather (123:abc...).")
    telegram_api_url: str | None = Field(
        default=None,
        description="Bot API server; unset means Telegram itself (set for the emulator).",
    )
    reminder_days: list[float] = Field(default_factory=lambda: [3.0, 1.0])
    scheduler_interval_s: float = Field(default=0.5, gt=0)
    claim_lease_s: float = Field(default=60.0, gt=0)
    messages_per_second: float = Field(default=30.0, gt=0)
    messages_per_chat_per_second: float = Field(default=1.0, gt=0)
    broadcast_senders: int = Field(default=16, ge=1, le=64)
    broadcast_term_s: float = Field(
        default=10.0,
        gt=0,
        description="Of several notifiers, one broadcasts for a term this long, then keeps "
        "it or hands it over (keyland.turns).",
    )
    alert_ids: list[int] = Field(
        default_factory=list,
        description="Telegram ids told of money not credited as a plan and of nodes down "
        "and back (JSON list; the bot's admins).",
    )
    countries_file: Path | None = Field(
        default=None,
        description="The provisioner's countries file: region buttons after a first purchase "
        "and when a node is down.",
    )

    def reminders(self) -> list[timedelta]:
        return [timedelta(days=days) for days in sorted(self.reminder_days, reverse=True)]

    def regions(self) -> list[str]:
        """The countries with a node; none without a file (a bad one stops start-up)."""
        if self.countries_file is None or not self.countries_file.exists():
            return []
        return regions(CountriesFile(self.countries_file).read())
