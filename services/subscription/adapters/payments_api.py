"""The payments ingest's internal API, as the subscription worker uses it:
``POST /payments/renewals`` charges a user's saved method for a renewal."""

from __future__ import annotations

import json
import logging
from typing import Self

import aiohttp

from events.subscriptions import RenewalDue

log = logging.getLogger(__name__)


class PaymentsUnavailable(ConnectionError):
    """The ingest did not answer usefully: a transient failure, retried until it passes."""


class PaymentsApi:
    """One aiohttp session, opened on the first call (aiohttp wants a running loop)."""

    def __init__(self, base_url: str, token: str, timeout_s: float) -> None:
        self._url = base_url.rstrip("/") + "/payments/renewals"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_url(cls, url: str, token: str, timeout_s: float) -> Self:
        return cls(url, token, timeout_s)

    async def renew(self, due: RenewalDue) -> str | None:
        """The payment made for the charge; None when the ingest refused it for good
        (an unknown plan, a method YooKassa refuses), which is logged."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        body = {
            "telegram_id": due.telegram_id,
            "plan": due.plan,
            "method_id": due.method_id,
            "period_end": due.period_end.isoformat(),
            "attempt": due.attempt,
        }
        try:
            async with self._session.post(self._url, json=body) as response:
                status, answer = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise PaymentsUnavailable(f"POST {self._url}: {error!r}") from error
        if status == 201:
            payment_id: str = json.loads(answer)["payment_id"]
            return payment_id
        if status >= 500:
            raise PaymentsUnavailable(f"POST {self._url} answered {status}: {answer[:200]}")
        # A wrong token (401) is logged, not retried: it would hold every user of the
        # partition behind this one until an operator fixes the setting.
        log.error("renewal of %s refused (%d): %s", due.telegram_id, status, answer[:300])
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
