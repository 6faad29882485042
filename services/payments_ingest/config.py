"""Payments ingest settings (``KEYLAND_PAYMENTS_*``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.payments_ingest.domain.notifications import Plan
from services.payments_ingest.domain.trust import networks


class PlanSpec(BaseModel):
    months: int = Field(ge=0, le=120)
    days: int = Field(default=0, ge=0, le=3660)
    price: Decimal = Field(gt=0, decimal_places=2)
    currency: str = Field(default="RUB", min_length=3, max_length=3)


DEFAULT_PLANS = {
    "month_1": PlanSpec(months=1, price=Decimal("199.00")),
    "month_3": PlanSpec(months=3, price=Decimal("549.00")),
    "month_6": PlanSpec(months=6, price=Decimal("999.00")),
    "month_12": PlanSpec(months=12, price=Decimal("1799.00")),
}


class PaymentsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KEYLAND_PAYMENTS_", env_file=".env", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8080, gt=0, lt=65536)
    yookassa_shop_id: str = Field(min_length=1)
    yookassa_secret_key: SecretStr
    yookassa_api_url: str = Field(default="https://api.yookassa.ru/v3", pattern=r"^https?://")
    yookassa_timeout_s: float = Field(default=5.0, gt=0)
    trust_yookassa_networks: bool = True
    extra_trusted_networks: list[str] = Field(
        default_factory=list, description="More webhook sources (JSON list), e.g. for tests."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Reverse proxies whose X-Forwarded-For we believe."
    )
    internal_token: SecretStr = Field(description="Bearer token of POST /payments.")
    return_url: str = Field(default="https://t.me/", pattern=r"^https?://")
    plans: dict[str, PlanSpec] = Field(default_factory=lambda: dict(DEFAULT_PLANS))

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
