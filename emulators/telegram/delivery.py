"""Webhook delivery: each pending update is POSTed as JSON to the bot's webhook, in order.

Any 2xx acknowledges it; anything else, a timeout or a refused connection is retried
with exponential backoff (Telegram retries for hours; here a few attempts, then the update
is dropped) and shows in getWebhookInfo's ``last_error_message``. A reply carrying a
method (JSON or a form with ``method``, as aiogram's webhook handler can answer) is
executed like an API call. One update at a time per bot, so order is kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from emulators.telegram.errors import ApiError
from emulators.telegram.params import Params, decode
from emulators.telegram.runtime import Runtime
from emulators.telegram.state import Webhook

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
Invoke = Callable[[Runtime, str, Params], Awaitable[Any]]


@dataclass(frozen=True)
class WebhookPolicy:
    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay_s < 0 or self.timeout_s <= 0:
            raise ValueError("webhook delivery needs attempts >= 1, delay >= 0 and timeout > 0")

    def delay_before(self, attempt: int) -> float:
        return min(self.base_delay_s * 2.0 ** (attempt - 2), self.max_delay_s)


class WebhookSender:
    """One draining task per bot with a webhook and pending updates."""

    def __init__(self, policy: WebhookPolicy, clock: Callable[[], float], invoke: Invoke) -> None:
        self.policy = policy
        self._clock = clock
        self._invoke = invoke
        self._client: httpx.AsyncClient | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def close(self) -> None:
        await asyncio.gather(*(self.stop(bot_id) for bot_id in list(self._tasks)))

    async def stop(self, bot_id: int) -> None:
        task = self._tasks.pop(bot_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def kick(self, runtime: Runtime) -> None:
        """Make sure pending updates are on their way (no-op without a webhook)."""
        task = self._tasks.get(runtime.account.id)
        if self._client is None or runtime.state.webhook is None or (task and not task.done()):
            return
        self._tasks[runtime.account.id] = asyncio.create_task(self._drain(self._client, runtime))

    async def _drain(self, client: httpx.AsyncClient, runtime: Runtime) -> None:
        while runtime.state.webhook is not None:
            ready = runtime.state.updates.ready(self._clock(), 1)
            if not ready:
                return
            update = ready[0]
            record: dict[str, Any] = {
                "update_id": update["update_id"],
                "state": "pending",
                "attempts": [],
                "reply": None,
                "reply_error": None,
            }
            runtime.deliveries.append(record)
            response = await self._deliver(client, runtime, update, record)
            if record["state"] == "abandoned":  # the webhook was deleted: getUpdates gets it
                return
            runtime.state.updates.remove(update["update_id"])
            runtime.changes.announce()
            if response is not None:
                await self._answer(runtime, response, record)

    async def _deliver(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        update: dict[str, Any],
        record: dict[str, Any],
    ) -> httpx.Response | None:
        for attempt in range(1, self.policy.attempts + 1):
            if attempt > 1:
                await asyncio.sleep(self.policy.delay_before(attempt))
            hook = runtime.state.webhook
            if hook is None:
                record["state"] = "abandoned"
                return None
            response, error = await self._post(client, hook, update)
            record["attempts"].append(
                {"url": hook.url, "status": response and response.status_code, "error": error}
            )
            if error is None:
                record["state"] = "delivered"
                return response
            hook.last_error_date, hook.last_error_message = int(self._clock()), error
            log.info("webhook %s, update %s: %s", hook.url, update["update_id"], error)
        record["state"] = "failed"
        return None

    async def _post(
        self, client: httpx.AsyncClient, hook: Webhook, update: dict[str, Any]
    ) -> tuple[httpx.Response | None, str | None]:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers[SECRET_HEADER] = hook.secret_token
        try:
            response = await client.post(
                hook.url, content=json.dumps(update), headers=headers, timeout=self.policy.timeout_s
            )
        except httpx.TimeoutException:
            return None, "Read timeout expired"
        except httpx.ConnectError:
            return None, "Connection refused"
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"
        if not response.is_success:
            return (
                response,
                f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}",
            )
        return response, None

    async def _answer(
        self, runtime: Runtime, response: httpx.Response, record: dict[str, Any]
    ) -> None:
        """Execute a method the webhook answered with, as Telegram does."""
        if not response.content.strip():
            return
        try:
            params = decode(response.headers.get("content-type", ""), response.content)
            method = params.text("method")
        except ApiError as error:
            record["reply_error"] = error.description
            return
        if method is None:
            return
        record["reply"] = method
        rest = Params({k: v for k, v in params.values.items() if k != "method"}, params.files)
        try:
            await self._invoke(runtime, method, rest)
        except ApiError as error:
            record["reply_error"] = error.description
