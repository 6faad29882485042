"""Payments ingest's internal API: ``POST /payments`` creates (or, for the same order,
returns again) a YooKassa payment and its confirmation URL."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.bot.adapters.http_api import JsonApi


class Checkout(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    payment_id: str = Field(min_length=1)
    status: str
    confirmation_url: str = Field(pattern=r"^https?://")
    gift_code: str | None = None
    """For a gift, the code of its link, which works once the payment succeeded."""


class PlanRefused(Exception):
    """The ingest does not sell this plan (the bot's plan list and the ingest's differ)."""


class Payments:
    def __init__(self, api: JsonApi) -> None:
        self._api = api

    @classmethod
    def from_url(cls, url: str, token: str, timeout_s: float) -> Self:
        return cls(JsonApi.from_url(url, token, service="payments", timeout_s=timeout_s))

    async def create(
        self,
        telegram_id: int,
        plan: str,
        order_id: str,
        *,
        save_method: bool = False,
        gift: bool = False,
    ) -> Checkout:
        """The payment for ``order_id``: the same order always gives the same payment;
        ``save_method``: the card is saved to renew the plan automatically; ``gift``: a
        gift's, with its code."""
        response = await self._api.request(
            "POST",
            "/payments",
            json={
                "telegram_id": telegram_id,
                "plan": plan,
                "order_id": order_id,
                "save_payment_method": save_method,
                "gift": gift,
            },
        )
        if response.status_code == 422:
            raise PlanRefused(response.text[:300])
        if response.status_code not in (200, 201):
            raise self._api.unexpected(response)
        try:
            return Checkout.model_validate_json(response.content)
        except ValidationError as error:
            raise self._api.unexpected(response) from error

    async def refund_held(self, payment_id: str) -> str | None:
        """Refund a held payment in full; None when done, else the ingest's reason."""
        response = await self._api.request("POST", f"/payments/{payment_id}/refund")
        if response.status_code == 201:
            return None
        if response.status_code in (409, 422):
            return str(response.json().get("status", response.text[:300]))
        raise self._api.unexpected(response)

    async def close(self) -> None:
        await self._api.close()
