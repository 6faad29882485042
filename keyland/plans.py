"""The plans on sale, configured once: ``KEYLAND_PLANS``.

A plan is a contract between three services: the bot offers the plans and orders one by
name, the payments ingest creates the payment at the plan's price and credits it as the
plan's months and days, and the subscription service folds what the payment events say.
So the list is one setting in the shared runtime rather than in one service or in
``events/`` (which holds shapes, not configuration): the bot's and the ingest's settings
both inherit :class:`SellsPlans` and read the same variable, validated the same way.
The per-service variables it replaced are refused, so an old configuration cannot leave
the bot offering what the ingest would not sell.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode

from keyland.settings import json_variable

PLANS_VARIABLE = "KEYLAND_PLANS"
RETIRED_VARIABLES = ("KEYLAND_BOT_PLANS", "KEYLAND_PAYMENTS_PLANS")
_NAME = re.compile(r"[A-Za-z0-9_]{1,32}")
MAX_STARS = 100_000  # Telegram's limit on one Stars invoice


class PlanSpec(BaseModel):
    """What one plan gives and costs."""

    model_config = ConfigDict(frozen=True)

    months: int = Field(ge=0, le=120)
    days: int = Field(default=0, ge=0, le=3660)
    price: Decimal = Field(gt=0, decimal_places=2)
    currency: str = Field(default="RUB", min_length=3, max_length=3)
    stars: int | None = Field(default=None, gt=0, le=MAX_STARS)
    """The price in Telegram Stars (``XTR``); a plan without one is not offered in Stars."""


DEFAULT_PLANS = {
    "month_1": PlanSpec(months=1, price=Decimal("199.00"), stars=150),
    "month_3": PlanSpec(months=3, price=Decimal("549.00"), stars=400),
    "month_6": PlanSpec(months=6, price=Decimal("999.00"), stars=750),
    "month_12": PlanSpec(months=12, price=Decimal("1799.00"), stars=1350),
}


class SellsPlans(BaseSettings):
    """The plans on sale, from ``KEYLAND_PLANS`` whatever the inheriting class's prefix."""

    plans: Annotated[dict[str, PlanSpec], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_PLANS),
        validation_alias=PLANS_VARIABLE,
        min_length=1,
        description='JSON: {"month_1": {"months": 1, "days": 0, "price": "199.00", '
        '"currency": "RUB", "stars": 100}} ("stars": the price in Telegram Stars, optional)',
    )

    @field_validator("plans", mode="before")
    @classmethod
    def _plans_json(cls, value: Any) -> Any:
        return json_variable(value) if isinstance(value, str) else value

    @field_validator("plans")
    @classmethod
    def _plans_give_time(cls, value: dict[str, PlanSpec]) -> dict[str, PlanSpec]:
        for name, plan in value.items():
            if not _NAME.fullmatch(name):
                raise ValueError(f"plan name {name!r}: letters, digits and _ only, up to 32")
            if plan.months == 0 and plan.days == 0:
                raise ValueError(f"plan {name!r} gives no time")
        return value

    @model_validator(mode="after")
    def _no_retired_variable(self) -> Self:
        for retired in RETIRED_VARIABLES:
            if retired in os.environ:
                raise ValueError(f"{retired} is retired: set the plans once, in {PLANS_VARIABLE}")
        return self
