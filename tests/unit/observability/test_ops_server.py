"""``/health`` answers from the service's checks; ``/metrics`` in Prometheus' format."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette

from keyland.observability import metrics, ops_server
from keyland.observability.ops_server import Check, ops_routes, run_checks


async def fine() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("database away")


async def stuck() -> None:
    await asyncio.sleep(60)


def client(checks: dict[str, Check]) -> httpx.AsyncClient:
    app = Starlette(routes=ops_routes(checks))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


async def test_checks_report_ok_errors_and_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops_server, "CHECK_TIMEOUT_S", 0.05)
    healthy, results = await run_checks({"a": fine, "b": broken, "c": stuck})
    assert not healthy
    assert results["a"] == "ok"
    assert results["b"] == "failed: ConnectionError: database away"
    assert results["c"].startswith("failed: TimeoutError")


async def test_health_is_503_naming_the_failing_check_and_200_when_all_pass() -> None:
    async with client({"database": broken}) as sick:
        answer = await sick.get("/health")
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"database": "failed: ConnectionError: database away"}
    async with client({"database": fine}) as well:
        answer = await well.get("/health")
    assert answer.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_metrics_are_prometheus_text() -> None:
    metrics.EVENTS_PROCESSED.labels("ops-test", "payments", "PaymentSucceeded").inc()
    async with client({}) as ops:
        answer = await ops.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "# TYPE keyland_events_processed_total counter" in answer.text
    assert (
        'keyland_events_processed_total{consumer="ops-test",topic="payments",'
        'type="PaymentSucceeded"}'
    ) in answer.text
