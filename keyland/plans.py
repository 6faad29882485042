"""The plans on sale: one definition for the bot (what it offers) and the payments
ingest (what it creates and credits). Both read their list from configuration with these
defaults; keep ``KEYLAND_BOT_PLANS`` and ``KEYLAND_PAYMENTS_PLANS`` the same."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class PlanSpec(BaseModel):
    """What one plan gives and costs."""

    model_config = ConfigDict(frozen=True)

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
