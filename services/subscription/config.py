"""The subscription processor's settings (``KEYLAND_SUBSCRIPTION_*``)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from keyland.settings import RunsWorker
from services.subscription.domain.renewal import RenewalRules
from services.subscription.domain.rules import Rules


class SubscriptionSettings(RunsWorker):
    model_config = SettingsConfigDict(
        env_prefix="KEYLAND_SUBSCRIPTION_", env_file=".env", extra="ignore"
    )

    app_id: str = Field(default="keyland-subscription", min_length=1)
    data_dir: Path = Path("var/subscription")
    trial_days: float = Field(default=3, gt=0, le=90)
    referral_bonus_days_per_month: int = Field(default=10, ge=0, le=365)
    max_horizon_days: int = Field(default=1825, gt=0)
    sweep_interval_s: float = Field(default=1.0, gt=0)
    sweep_term_s: float = Field(
        default=20.0,
        gt=0,
        description="Of several workers, one sweeps for a term this long, then keeps it or "
        "hands it over (keyland.turns).",
    )
    expiry_lookback_days: int = Field(default=30, gt=0)
    cleanup_after_days: int = Field(default=182, gt=0)
    cleanup_interval_s: float = Field(
        default=7 * 24 * 3600,
        gt=0,
        description="The least time between two cleanups (counted from the last finished one).",
    )
    cleanup_tick_s: float = Field(
        default=300.0,
        gt=0,
        description="How often the worker asks whether a cleanup is due (one read by _id).",
    )
    cleanup_lease_s: float = Field(
        default=3600.0,
        gt=0,
        description="A claimed cleanup not finished this long is taken over by another worker.",
    )
    instance: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    rebuild: bool = Field(
        default=False,
        description=(
            "Rebuild an empty database from the topics: decide every fact, publish none "
            "(no facts, no lapses, no purges); run it until the group caught up, then "
            "restart without it."
        ),
    )
    key_secret: SecretStr = Field(
        min_length=32,
        description="Derives users' key ids (their VLESS credentials); keep it secret and never change it.",
    )
    renewal_lead_s: float = Field(
        default=24 * 3600,
        ge=0,
        description="A saved method is charged this long before access ends.",
    )
    renewal_attempts: int = Field(
        default=3, ge=1, le=20, description="Charges per end of access at most (with retries)."
    )
    renewal_backoff_s: float = Field(
        default=6 * 3600,
        gt=0,
        description="The wait after a declined renewal; doubled after each further decline.",
    )
    payments_url: str = Field(
        default="http://127.0.0.1:8080",
        pattern=r"^https?://",
        description="The payments ingest, which charges saved methods.",
    )
    payments_token: SecretStr | None = Field(
        default=None,
        description="KEYLAND_PAYMENTS_INTERNAL_TOKEN's value; without it nothing is renewed.",
    )
    payments_timeout_s: float = Field(default=15.0, gt=0)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8081, gt=0, lt=65536)
    stats_interval_s: float = Field(
        default=60.0, gt=0, description="How often the read API refreshes business gauges."
    )
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token of the read API; required to start it."
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer token of the admin API (/v1/admin on the read API's port); unset, "
            "the admin routes answer 404. Must differ from the read API's token."
        ),
    )

    def rules(self) -> Rules:
        return Rules(
            trial=timedelta(days=self.trial_days),
            referral_bonus_days_per_month=self.referral_bonus_days_per_month,
            max_horizon=timedelta(days=self.max_horizon_days),
            key_secret=self.key_secret.get_secret_value().encode(),
            renewal=RenewalRules(
                lead=timedelta(seconds=self.renewal_lead_s),
                attempts=self.renewal_attempts,
                backoff=timedelta(seconds=self.renewal_backoff_s),
            ),
        )
