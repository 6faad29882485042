"""The load's HTTP client, on aiohttp: the simulated Telegram users' and the baseline's
requests.

The load runs on the same two cores as the system it measures, so every CPU second its
client spends is taken from the system under test. With many requests in flight httpx
spent about 1.8 ms of CPU per request, aiohttp about 0.14 ms (measured for the bot's own
clients, which moved to aiohttp for that reason). Both sides of a comparison use this
client. It answers the calls :class:`tests.telegram_chat.TelegramUser` makes, in
httpx's shape.
"""

from __future__ import annotations

import json as json_module
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp


class Refused(RuntimeError):
    """An error status answered to a request that needed success."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    text: str

    def json(self) -> Any:
        return json_module.loads(self.text)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise Refused(f"{self.status_code}: {self.text[:300]}")


def _query(params: dict[str, Any] | None) -> dict[str, str] | None:
    return None if params is None else {k: str(v) for k, v in params.items()}


class LightClient:
    """Requests to ``base_url`` (then paths start with ``/``) or to whole URLs, at most
    ``connections`` at once."""

    def __init__(self, base_url: str | None = None, *, timeout_s: float, connections: int) -> None:
        self._session = aiohttp.ClientSession(
            base_url=base_url,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=1.0),
        )

    async def get(self, url: str, *, params: dict[str, Any] | None = None) -> Answer:
        async with self._session.get(url, params=_query(params)) as response:
            return Answer(response.status, await response.text())

    async def post(self, url: str, *, json: dict[str, Any] | None = None) -> Answer:
        async with self._session.post(url, json=json) as response:
            return Answer(response.status, await response.text())

    async def delete(self, url: str) -> Answer:
        async with self._session.delete(url) as response:
            return Answer(response.status, await response.text())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._session.close()
