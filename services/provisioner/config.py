"""The provisioner's settings (``KEYLAND_PROVISIONER_*``), one class per concern.

Build them with :func:`keyland.settings.load`, which stops start-up with a message naming
the variable that is missing or malformed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from keyland.countries import is_node_address
from keyland.settings import RunsWorker, TimeZoneName

_CONFIG = SettingsConfigDict(env_prefix="KEYLAND_PROVISIONER_", env_file=".env", extra="ignore")

_URL = r"^https?://[^\s/]+(/[^\s]*)?$"

NodeToken = Annotated[SecretStr, Field(min_length=16)]


class ProvisionerSettings(RunsWorker):
    """The worker: where the countries are, how often it looks, how it retries."""

    model_config = _CONFIG

    app_id: str = Field(default="keyland-provisioner", min_length=1)
    data_dir: Path = Path("var/provisioner")
    countries_file: Path = Field(
        description='JSON {"country": ["host:port of a node agent", ...]}; re-read on change.'
    )
    countries_poll_s: float = Field(default=1.0, gt=0, le=60)
    reconcile_interval_s: float = Field(
        default=5.0, gt=0, description="How often every node is compared with desired state."
    )
    reload_interval_s: float = Field(
        default=600.0,
        gt=0,
        description="How often every user and node record is re-read from the database "
        "(a whole read: the safety net against drift; rounds use what is kept in memory).",
    )
    retry_initial_s: float = Field(default=0.2, gt=0, description="First wait after a failure.")
    retry_max_s: float = Field(default=5.0, gt=0, description="Cap of the doubling waits.")
    outage_grace_s: float = Field(
        default=120.0,
        ge=0,
        description="A node failing this long is announced unreachable (NodeUnreachable): "
        "its servers leave the subscription pages until it is back and in line.",
    )
    unknown_key_grace_s: float = Field(
        default=60.0,
        ge=0,
        description="A key on a node that no user owns is removed after this long.",
    )
    traffic_window_s: float = Field(
        default=300.0,
        ge=1,
        le=86_400,
        description="Each node's traffic counters are read once per window this long.",
    )


class NodeAccessSettings(BaseSettings):
    """How the provisioner (worker and API) talks to the node agents."""

    model_config = _CONFIG

    node_token: NodeToken | None = Field(
        default=None, description="Bearer token of every node agent without its own."
    )
    node_tokens: Annotated[dict[str, NodeToken], NoDecode] = Field(
        default_factory=dict, description='Per-node tokens, JSON {"host:port": "token"}.'
    )
    node_scheme: Literal["http", "https"] = "http"
    node_timeout_s: float = Field(default=5.0, gt=0, le=60)

    @field_validator("node_tokens", mode="before")
    @classmethod
    def _json(cls, value: Any) -> Any:
        """Decoded here rather than by the settings source, so that a malformed value is
        reported naming the variable like any other."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as error:
            raise ValueError(f'expected JSON {{"host:port": "token"}}: {error}') from error

    @field_validator("node_tokens")
    @classmethod
    def _addresses(cls, tokens: dict[str, SecretStr]) -> dict[str, SecretStr]:
        wrong = [address for address in tokens if not is_node_address(address)]
        if wrong:
            raise ValueError(f"keys must be host:port, not {wrong}")
        return tokens

    def token_for(self, address: str) -> SecretStr | None:
        return self.node_tokens.get(address, self.node_token)


class SubscriptionPageSettings(BaseSettings):
    """The subscription API: ``/sub/{token}`` for VPN clients and browsers, ``/v1`` for
    the bot."""

    model_config = _CONFIG

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8082, gt=0, lt=65536)
    subscription_secret: SecretStr = Field(
        min_length=32, description="Signs the subscription URLs; changing it voids all of them."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8082",
        pattern=_URL,
        description="Where VPN clients reach this API; subscription URLs start with it.",
    )
    profile_title: str = Field(default="Keyland", min_length=1, max_length=64)
    update_interval_hours: int = Field(default=12, gt=0, le=24 * 7)
    announce_days: int = Field(
        default=3, ge=0, le=60, description="Clients are told the end date this close to it."
    )
    bot_username: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$",
        description="The bot's @username, named where clients are told to renew.",
    )
    support_url: str | None = Field(
        default=None, pattern=_URL, description="Sent as support-url; unset: not sent."
    )
    web_page_url: str | None = Field(
        default=None, pattern=_URL, description="Sent as profile-web-page-url; unset: not sent."
    )
    traffic_timeout_s: float = Field(default=2.0, gt=0, le=30)
    page_time_zone: TimeZoneName = Field(
        default="Europe/Moscow",
        description="The time zone of the dates on the page a browser gets (IANA name).",
    )
    read_api_url: str = Field(
        default="http://127.0.0.1:8081",
        pattern=_URL,
        description="The subscription read API, asked for a user's traffic this month.",
    )
    read_api_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="KEYLAND_SUBSCRIPTION_API_TOKEN's value; unset: the page shows no traffic.",
    )
    api_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Bearer token of /v1 (the bot asks there for a user's URL); unset: no /v1.",
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.page_time_zone)


class CountriesFileSettings(BaseSettings):
    """Where the API finds the nodes: the worker's countries file (the same variable);
    unset, its capacity view has no nodes to show."""

    model_config = _CONFIG

    countries_file: Path | None = None


class CapacitySettings(BaseSettings):
    """The capacity view (``keyland capacity``, the API's ``/v1/nodes/capacity``, the
    bot's admin chart): the last load run's report and what one node costs a month."""

    model_config = SettingsConfigDict(
        env_prefix="KEYLAND_CAPACITY_", env_file=".env", extra="ignore"
    )

    node_monthly_price: Decimal = Field(
        default=Decimal("5.00"), ge=0, description="What one node costs a month."
    )
    report: Path = Field(
        default=Path("bench/reports/capacity.json"), description="The load run's report."
    )
