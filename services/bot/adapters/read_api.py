"""The subscription read API (``GET /v1/users/...``, ``/v1/stats``): what the bot knows
about users. Reads only; changes go through events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Self, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from events.users import UserTraffic, UserView
from services.bot.adapters.http_api import Answer, JsonApi

M = TypeVar("M", bound=BaseModel)


class Referrals(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    invited: int = Field(ge=0)
    bonus_days: int = Field(ge=0)


class Stats(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    users: int
    active: int
    trials: int
    paid: int
    revenue: dict[str, Decimal]
    trial_to_paid: float


class HeldPayment(BaseModel):
    """A paid payment not credited as a plan, waiting for an admin."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    payment_id: str
    provider: str = "yookassa"
    telegram_id: int | None = None
    amount: Decimal
    currency: str
    plan: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    reason: str
    paid_at: datetime
    refunded: Decimal = Decimal(0)


class Payment(BaseModel):
    """A credited or held payment, as the read API records it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    payment_id: str
    provider: str
    telegram_id: int | None = None
    status: str
    plan: str | None = None
    amount: Decimal
    currency: str
    refunded: Decimal = Decimal(0)
    paid_at: datetime | None = None


class _Payments(BaseModel):
    payments: list[Payment]


class _Held(BaseModel):
    payments: list[HeldPayment]


class _Found(BaseModel):
    users: list[UserView]


class ReadApi:
    """Client of the subscription read API."""

    def __init__(self, api: JsonApi) -> None:
        self._api = api

    @classmethod
    def from_url(cls, url: str, token: str, timeout_s: float) -> Self:
        return cls(JsonApi.from_url(url, token, service="read API", timeout_s=timeout_s))

    async def user(self, telegram_id: int) -> UserView | None:
        """The user, or None when the read model has never heard of them."""
        response = await self._api.request("GET", f"/v1/users/{telegram_id}")
        if response.status_code == 404:
            return None
        return self._parse(response, UserView)

    async def by_username(self, username: str) -> list[UserView]:
        response = await self._api.request("GET", "/v1/users", params={"username": username})
        return self._parse(response, _Found).users

    async def referrals(self, telegram_id: int) -> Referrals:
        """Friends invited and bonus days earned; nothing yet for an unknown user."""
        response = await self._api.request("GET", f"/v1/users/{telegram_id}/referrals")
        if response.status_code == 404:
            return Referrals(invited=0, bonus_days=0)
        return self._parse(response, Referrals)

    async def traffic(self, telegram_id: int) -> UserTraffic:
        """The user's traffic this month (zero when nothing was counted)."""
        response = await self._api.request("GET", f"/v1/users/{telegram_id}/traffic")
        return self._parse(response, UserTraffic)

    async def payments_of(self, telegram_id: int) -> list[Payment]:
        """The user's latest payments, newest first."""
        response = await self._api.request("GET", f"/v1/users/{telegram_id}/payments")
        return self._parse(response, _Payments).payments

    async def held_payments(self) -> list[HeldPayment]:
        """Held payments, oldest first (at most 50)."""
        response = await self._api.request("GET", "/v1/payments/held")
        return self._parse(response, _Held).payments

    async def payment(self, provider: str, payment_id: str) -> Payment | None:
        """The payment, or None when the read model has not recorded it."""
        response = await self._api.request(
            "GET", f"/v1/payments/{quote(provider, safe='')}/{quote(payment_id, safe='')}"
        )
        if response.status_code == 404:
            return None
        return self._parse(response, Payment)

    async def stats(self) -> Stats:
        return self._parse(await self._api.request("GET", "/v1/stats"), Stats)

    def _parse(self, response: Answer, model: type[M]) -> M:
        if response.status_code != 200:
            raise self._api.unexpected(response)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            raise self._api.unexpected(response) from error

    async def close(self) -> None:
        await self._api.close()
