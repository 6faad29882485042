"""The subscription service's read API, asked for one user's traffic this month (what
the subscription page shows a browser). Best effort: a page never waits longer than the
timeout, and an answer that does not come is shown as unknown."""

from __future__ import annotations

import logging
from typing import Self

import aiohttp
from pydantic import ValidationError

from events.users import UserTraffic
from services.provisioner.config import SubscriptionPageSettings

log = logging.getLogger(__name__)


class TrafficTotals:
    """``GET /v1/users/{id}/traffic`` with the read API's bearer token."""

    def __init__(self, base_url: str, token: str, timeout_s: float) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: SubscriptionPageSettings) -> Self | None:
        """None when no token is configured: the page then shows no traffic."""
        if settings.read_api_token is None:
            return None
        token = settings.read_api_token.get_secret_value()
        return cls(settings.read_api_url, token, settings.traffic_timeout_s)

    def _opened(self) -> aiohttp.ClientSession:
        # Opened on the first call: aiohttp wants the running loop the app serves on.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session

    async def this_month(self, telegram_id: int) -> UserTraffic | None:
        """The user's bytes this month, or None when the read API does not say in time."""
        url = f"{self._base}/v1/users/{telegram_id}/traffic"
        try:
            async with self._opened().get(url) as response:
                body = await response.read()
                if response.status != 200:
                    log.warning("read API answered %s for %s", response.status, url)
                    return None
            return UserTraffic.model_validate_json(body)
        except (aiohttp.ClientError, TimeoutError, ValidationError) as error:
            log.warning("no traffic for user %s: %r", telegram_id, error)
            return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
