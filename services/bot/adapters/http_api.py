"""A small JSON-over-HTTP client with a bearer token, shared by the bot's API adapters."""

from __future__ import annotations

from typing import Any, Self

import httpx


class Unavailable(Exception):
    """A service the bot depends on did not answer usefully; the user should retry later."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


class JsonApi:
    """Calls one service; transport errors, 5xx and 401/403 become :class:`Unavailable`
    (the last two mean our token is wrong, which a user cannot fix either)."""

    def __init__(self, client: httpx.AsyncClient, service: str) -> None:
        self._client = client
        self.service = service

    @classmethod
    def from_url(cls, url: str, token: str, *, service: str, timeout_s: float) -> Self:
        client = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )
        return cls(client, service)

    async def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            response = await self._client.request(method, path, json=json, params=params)
        except httpx.HTTPError as error:
            raise Unavailable(self.service, f"{method} {path}: {error!r}") from error
        if response.status_code >= 500 or response.status_code in (401, 403):
            raise Unavailable(
                self.service,
                f"{method} {path} answered {response.status_code}: {response.text[:200]}",
            )
        return response

    def unexpected(self, response: httpx.Response) -> Unavailable:
        return Unavailable(
            self.service,
            f"unexpected answer {response.status_code} to {response.request.method} "
            f"{response.request.url.path}: {response.text[:200]}",
        )

    async def close(self) -> None:
        await self._client.aclose()
