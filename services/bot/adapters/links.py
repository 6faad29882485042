"""The provisioner's links API: a user's connection link on every country server and
one subscription URL that carries them all.

Contract: ``GET {links_url}/v1/users/{telegram_id}/links`` with a bearer token answers
``{"links": {"finland": "vless://...", ...}, "subscription_url": "https://..."}``;
404 means the user has no keys (no access yet, or purged).
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.bot.adapters.http_api import JsonApi


class UserLinks(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    links: dict[str, str]
    subscription_url: str = Field(pattern=r"^https?://")

    def ordered(self, preferred: str | None) -> list[tuple[str, str]]:
        """Countries alphabetically, the user's preferred region first."""
        return sorted(self.links.items(), key=lambda item: (item[0] != preferred, item[0]))


class Links:
    def __init__(self, api: JsonApi) -> None:
        self._api = api

    @classmethod
    def from_url(cls, url: str, token: str, timeout_s: float) -> Self:
        return cls(JsonApi.from_url(url, token, service="links", timeout_s=timeout_s))

    async def of(self, telegram_id: int) -> UserLinks | None:
        """The user's links, or None when they have no keys."""
        response = await self._api.request("GET", f"/v1/users/{telegram_id}/links")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._api.unexpected(response)
        try:
            return UserLinks.model_validate_json(response.content)
        except ValidationError as error:
            raise self._api.unexpected(response) from error

    async def close(self) -> None:
        await self._api.close()
