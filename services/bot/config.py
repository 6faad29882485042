"""Bot settings (``KEYLAND_BOT_*``), and the plans it offers (``KEYLAND_PLANS``, the same
list the payments ingest sells: :mod:`keyland.plans`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from events.admin_commands import MAX_ADJUSTMENT_DAYS
from keyland.plans import SellsPlans
from keyland.settings import ServesOperations, TimeZoneName, json_variable

_TOKEN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_URL = r"^https?://"


class BotSettings(ServesOperations, SellsPlans):
    model_config = SettingsConfigDict(env_prefix="KEYLAND_BOT_", env_file=".env", extra="ignore")

    app_id: str = Field(default="keyland-bot", min_length=1)
    token: SecretStr = Field(description="The bot's token from @BotFather (123:abc...).")
    telegram_api_url: str | None = Field(
        default=None,
        pattern=_URL,
        description="Bot API server; unset means Telegram itself (set for the emulator).",
    )
    username: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_]{3,64}$",
        description="The bot's @username for referral links; unset: asked from getMe.",
    )
    admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="Telegram ids allowed into /admin: 1,2 or a JSON list [1, 2].",
    )
    read_api_url: str = Field(default="http://127.0.0.1:8081", pattern=_URL)
    read_api_token: SecretStr = Field(description="KEYLAND_SUBSCRIPTION_API_TOKEN's value.")
    payments_url: str = Field(default="http://127.0.0.1:8080", pattern=_URL)
    payments_token: SecretStr = Field(description="KEYLAND_PAYMENTS_INTERNAL_TOKEN's value.")
    links_url: str = Field(default="http://127.0.0.1:8082", pattern=_URL)
    links_token: SecretStr = Field(description="Bearer token of the provisioner's links API.")
    http_timeout_s: float = Field(default=5.0, gt=0, le=60)
    max_horizon_days: int = Field(
        default=1825,
        gt=0,
        le=MAX_ADJUSTMENT_DAYS,
        description="KEYLAND_SUBSCRIPTION_MAX_HORIZON_DAYS's value: the admin panel refuses "
        "a longer adjustment at once and names this maximum.",
    )
    support_contact: str = Field(default="@keyland_support", min_length=1, max_length=200)
    countries_file: Path | None = Field(
        default=None,
        description="The provisioner's countries file: the regions a user may choose.",
    )
    fsm_collection: str = Field(default="bot_fsm", min_length=1)
    seen_every_s: float = Field(
        default=60,
        gt=0,
        le=3600,
        description="At most one UserSeen per user this often (the notifier then sends "
        "what it kept for them).",
    )
    stars_reconcile_every_min: float = Field(
        default=10,
        gt=0,
        le=1440,
        description="How often (and at start) the bot reads its Star transactions back "
        "from Telegram and publishes the payments and refunds it has not published since "
        "it started, so one whose update was lost (the bot stopped while handling it) "
        "still counts.",
    )
    stars_lookback_days: float = Field(
        default=2,
        gt=0,
        le=30,
        description="How far back that reading goes.",
    )
    cabinet_url: str | None = Field(
        default=None,
        pattern=_URL,
        description="The Mini App cabinet's public URL (https in production: Telegram opens "
        "only https web apps); set, the bot's menu button opens it.",
    )
    cabinet_host: str = "127.0.0.1"
    cabinet_port: int = Field(default=8084, gt=0, lt=65536)
    cabinet_auth_max_age_s: float = Field(
        default=3600,
        gt=0,
        le=7 * 86400,
        description="How old Telegram's initData (its auth_date) may be before the cabinet "
        "refuses it (401) and the user opens it again from the menu button.",
    )
    cabinet_ends_soon_days: int = Field(
        default=3,
        ge=0,
        le=60,
        description="The cabinet says access ends soon within this many days of its end.",
    )
    cabinet_time_zone: TimeZoneName = Field(
        default="Europe/Moscow",
        description="The time zone of the cabinet's dates (IANA name).",
    )
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = Field(
        default=None,
        validate_default=True,
        description="Public HTTPS URL Telegram posts updates to (webhook mode).",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="Sent by Telegram in X-Telegram-Bot-Api-Secret-Token (webhook mode).",
    )
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8083, gt=0, lt=65536)
    webhook_path: str = Field(default="/telegram/webhook", pattern=r"^/[A-Za-z0-9/_.-]*$")

    # Decoded here rather than by pydantic-settings, so a malformed value is a validation
    # error that names the variable instead of a bare parsing error.
    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if value.strip().startswith("["):
            return json_variable(value)
        return [item.strip() for item in value.split(",") if item.strip()]

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.match(value.get_secret_value()):
            raise ValueError("a bot token looks like 123456:ABC-def_ghi")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("mode") == "webhook":
            if value is None:
                raise ValueError("required in webhook mode")
            if not re.match(_URL, value):
                raise ValueError("must be an http(s) URL")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if info.data.get("mode") == "webhook":
            if value is None:
                raise ValueError("required in webhook mode")
            if not _WEBHOOK_SECRET.match(value.get_secret_value()):
                raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def cabinet_zone(self) -> ZoneInfo:
        return ZoneInfo(self.cabinet_time_zone)

    @property
    def bot_id(self) -> int:
        return int(self.token.get_secret_value().split(":", 1)[0])
