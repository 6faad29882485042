"""Payments ingest settings (``KEYLAND_PAYMENTS_*``), and the plans it sells
(``KEYLAND_PLANS``, the same list the bot offers: :mod:`keyland.plans`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from keyland.http import DEFAULT_MAX_BODY
from keyland.plans import SellsPlans
from services.payments_ingest.domain.notifications import Plan
from services.payments_ingest.domain.trust import networks


class PaymentsSettings(SellsPlans):
    model_config = SettingsConfigDict(
        env_prefix="KEYLAND_PAYMENTS_", env_file=".env", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, gt=0, lt=65536)
    yookassa_shop_id: str = Field(min_length=1)
    yookassa_secret_key: SecretStr
    yookassa_api_url: str = Field(default="https://api.yookassa.ru/v3", pattern=r"^https?://")
    yookassa_timeout_s: float = Field(default=5.0, gt=0)
    yookassa_threads: int = Field(
        default=8, gt=0, le=64, description="API calls (and kept connections) at once."
    )
    trust_yookassa_networks: bool = True
    extra_trusted_networks: list[str] = Field(
        default_factory=list, description="More webhook sources (JSON list), e.g. for tests."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Reverse proxies whose X-Forwarded-For we believe."
    )
    internal_token: SecretStr = Field(description="Bearer token of POST /payments.")
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY, gt=0, description="Larger request bodies are refused (413)."
    )
    return_url: str = Field(default="https://t.me/", pattern=r"^https?://")

    @field_validator("extra_trusted_networks", "trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        networks(value)  # raises ValueError naming the bad entry
        return value

    def plan_book(self) -> dict[str, Plan]:
        return {
            name: Plan(name=name, months=p.months, days=p.days, price=p.price, currency=p.currency)
            for name, p in self.plans.items()
        }
