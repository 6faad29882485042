"""Webhook notifications, delivered as YooKassa delivers them.

Each notification is POSTed as JSON to the webhook URL in a background task; anything but
HTTP 200 (YooKassa's documented acknowledgement), a timeout or a refused connection is
retried with exponential backoff until it is acknowledged or the attempts run out. Every
attempt is recorded so tests can see redeliveries.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from emulators.yookassa.state import ApiProblem
from emulators.yookassa.wire import timestamp

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard to try. YooKassa keeps at it for 24 hours; locally seconds are enough."""

    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay_s < 0 or self.timeout_s <= 0:
            raise ValueError("need attempts >= 1, base delay >= 0 and timeout > 0")

    def delay_before(self, attempt: int) -> float:
        """Pause before attempt 2, 3, ...: base, 2 x base, 4 x base, capped."""
        return min(self.base_delay_s * 2.0 ** (attempt - 2), self.max_delay_s)


def checked_webhook_url(url: str) -> str:
    """An absolute http(s) URL, or :class:`ValueError` saying what is wrong with it."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise ValueError(f"invalid webhook URL {url!r}: {error}") from error
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise ValueError(f"webhook URL must be absolute http(s), got {url!r}")
    return url


@dataclass(frozen=True)
class Attempt:
    number: int
    status: int | None
    error: str | None
    at: datetime


@dataclass
class Delivery:
    """One copy of one notification on its way to the webhook."""

    id: str
    url: str
    body: bytes
    copy: int
    state: str = "pending"
    attempts: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        event, payment_id, refund_id = describe(self.body)
        return {
            "id": self.id,
            "event": event,
            "payment_id": payment_id,
            "refund_id": refund_id,
            "url": self.url,
            "copy": self.copy,
            "state": self.state,
            "attempts": [
                {"attempt": a.number, "status": a.status, "error": a.error, "at": timestamp(a.at)}
                for a in self.attempts
            ],
        }


def describe(body: bytes) -> tuple[str | None, str | None, str | None]:
    """Event, payment id and refund id of a notification body, as far as it has them."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None, None, None
    if not isinstance(parsed, dict):
        return None, None, None
    event, subject = _text(parsed.get("event")), parsed.get("object")
    if not isinstance(subject, dict):
        return event, None, None
    if "payment_id" in subject:
        return event, _text(subject.get("payment_id")), _text(subject.get("id"))
    return event, _text(subject.get("id")), None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class Deliverer:
    """Queues notifications to the current webhook URL and keeps the record of attempts."""

    def __init__(self, policy: DeliveryPolicy, webhook_url: str | None, clock: Clock) -> None:
        self.policy = policy
        self.webhook_url = webhook_url
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._deliveries: list[Delivery] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def close(self) -> None:
        """Abandon what is still being retried (the emulator is going away)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def send(self, body: bytes, copies: int = 1) -> list[Delivery]:
        """Queue ``copies`` deliveries of the same body; none when no webhook is set."""
        if self._client is None:
            raise RuntimeError("the deliverer is not started")
        if self.webhook_url is None:
            log.warning("no webhook URL set; notification dropped: %s", describe(body))
            return []
        queued = []
        for copy in range(1, copies + 1):
            delivery = Delivery(str(uuid.uuid4()), self.webhook_url, body, copy)
            task = asyncio.create_task(self._deliver(self._client, delivery), name=delivery.id)
            self._tasks[delivery.id] = task
            task.add_done_callback(self._forget)
            self._deliveries.append(delivery)
            queued.append(delivery)
        return queued

    def _forget(self, finished: asyncio.Task[None]) -> None:
        self._tasks.pop(finished.get_name(), None)

    async def wait(self, deliveries: Iterable[Delivery] | None = None) -> None:
        """Until the given deliveries (all, by default) are acknowledged or given up."""
        wanted = None if deliveries is None else {d.id for d in deliveries}
        tasks = [task for key, task in self._tasks.items() if wanted is None or key in wanted]
        if tasks:
            # asyncio.wait, not gather: a caller that goes away must not cancel a delivery.
            await asyncio.wait(tasks)

    def history(self, payment_id: str | None = None, event: str | None = None) -> list[Delivery]:
        return [
            delivery
            for delivery in self._deliveries
            if (payment_id is None or describe(delivery.body)[1] == payment_id)
            and (event is None or describe(delivery.body)[0] == event)
        ]

    def find(self, delivery_id: str) -> Delivery:
        for delivery in self._deliveries:
            if delivery.id == delivery_id:
                return delivery
        raise ApiProblem(404, "not_found", f"Delivery {delivery_id} doesn't exist")

    async def _deliver(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        for number in range(1, self.policy.attempts + 1):
            if number > 1:
                await asyncio.sleep(self.policy.delay_before(number))
            status, error = await self._attempt(client, delivery)
            delivery.attempts.append(Attempt(number, status, error, self._clock()))
            log.info("delivery %s attempt %d: %s", delivery.id, number, error or status)
            if status == 200:
                delivery.state = "delivered"
                return
        delivery.state = "failed"

    async def _attempt(
        self, client: httpx.AsyncClient, delivery: Delivery
    ) -> tuple[int | None, str | None]:
        try:
            response = await client.post(
                delivery.url,
                content=delivery.body,
                headers={"Content-Type": "application/json"},
                timeout=self.policy.timeout_s,
            )
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"
        if response.status_code == 200:
            return 200, None
        return response.status_code, f"answered HTTP {response.status_code}"
