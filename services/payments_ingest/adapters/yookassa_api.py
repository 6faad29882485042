"""The YooKassa API through the official (synchronous) SDK, called off the event loop.

The SDK sets no HTTP timeout, so every call runs in a worker thread under
``asyncio.wait_for``; a call that takes too long counts as the API being unavailable.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Self

from yookassa import Configuration, Payment, Refund
from yookassa.domain.exceptions import NotFoundError


class YooKassaUnavailable(RuntimeError):
    """The API did not answer usefully in time; try again later."""


ApiObject = dict[str, Any]


class YooKassaApi:
    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s

    @classmethod
    def configure(cls, shop_id: str, secret_key: str, api_url: str, timeout_s: float) -> Self:
        """Point the SDK (process-wide configuration) at the shop and the API."""
        Configuration.configure(shop_id, secret_key, api_url=api_url.rstrip("/"), max_attempts=1)
        return cls(timeout_s)

    async def _call(self, function: Callable[[], Any]) -> ApiObject | None:
        try:
            result = await asyncio.wait_for(asyncio.to_thread(function), self._timeout_s)
        except NotFoundError:
            return None
        except TimeoutError as error:
            raise YooKassaUnavailable(f"no answer within {self._timeout_s}s") from error
        except Exception as error:  # the SDK raises bare errors on transport failures
            raise YooKassaUnavailable(f"{type(error).__name__}: {error}") from error
        parsed: ApiObject = json.loads(result.json())
        return parsed

    async def payment(self, payment_id: str) -> ApiObject | None:
        """The payment as the API sees it, or None if the API does not know it."""
        return await self._call(functools.partial(Payment.find_one, payment_id))

    async def refund(self, refund_id: str) -> ApiObject | None:
        return await self._call(functools.partial(Refund.find_one, refund_id))

    async def create_payment(
        self,
        *,
        amount: Decimal,
        currency: str,
        description: str,
        metadata: dict[str, str],
        return_url: str,
        idempotency_key: str,
    ) -> ApiObject:
        params = {
            "amount": {"value": f"{amount:.2f}", "currency": currency},
            "capture": True,
            "confirmation": {"type": "redirect", "return_url": return_url},
            "description": description,
            "metadata": metadata,
        }
        created = await self._call(functools.partial(Payment.create, params, idempotency_key))
        if created is None:
            raise YooKassaUnavailable("the API answered 404 to a payment creation")
        return created
