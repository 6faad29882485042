"""The webhook's own answers: a fault of ours is a logged 500 counted like any answer."""

from __future__ import annotations

import logging
from typing import Any, cast

import httpx
import pytest
from prometheus_client import REGISTRY

from services.payments_ingest.domain.outcomes import Accepted, Refused
from services.payments_ingest.domain.trust import networks
from services.payments_ingest.entrypoints.http import build_app
from services.payments_ingest.handlers import IngestHandlers

NOTIFICATION = {"type": "notification", "event": "payment.succeeded", "object": {"id": "p1"}}


class FailingHandlers(IngestHandlers):
    """Handlers with a bug: the notification use case raises what nobody expected."""

    async def notification(self, body: Any) -> Accepted | Refused:
        raise RuntimeError("a bug of ours")


def answered(status: int) -> float:
    return REGISTRY.get_sample_value("keyland_webhooks_total", {"status": str(status)}) or 0.0


async def test_an_unexpected_failure_is_a_logged_500_counted_for_the_alert(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handlers = FailingHandlers(
        api=cast(Any, None),  # never reached: the use case fails first
        publisher=cast(Any, None),
        orders=cast(Any, None),
        plans={},
        trusted_networks=networks(["127.0.0.1/32"]),
        trusted_proxies=[],
        return_url="https://t.me/",
    )
    transport = httpx.ASGITransport(app=build_app(handlers, "token", {}), client=("127.0.0.1", 1))
    before = answered(500)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        answer = await client.post("/webhooks/yookassa", json=NOTIFICATION)
    assert answer.status_code == 500
    assert answer.json() == {"status": "internal error; retry later"}
    assert answered(500) == before + 1
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert failure.exc_info is not None
    assert "a bug of ours" in str(failure.exc_info[1])
