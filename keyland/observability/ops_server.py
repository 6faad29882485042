"""``GET /health`` and ``GET /metrics``: the routes every service serves.

HTTP services add :func:`ops_routes` to their own app. Workers without an HTTP API (the
faust workers, the bot) run :class:`OpsServer` on their ``ops_port`` beside their work, in
the same event loop.

``/health`` runs the service's checks (each an awaitable that raises when unhealthy, e.g.
a database ping) and answers 200 ``{"status": "ok", "checks": {...}}`` or 503 naming the
failing check. ``/metrics`` is Prometheus' text format of this process' registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from keyland.http import BodyLimitMiddleware

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[object]]
CHECK_TIMEOUT_S = 3.0


async def run_checks(checks: Mapping[str, Check]) -> tuple[bool, dict[str, str]]:
    """Every check's result: ``ok`` or the error it raised (or that it timed out)."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
        except Exception as error:  # noqa: BLE001 - any failure is the answer
            results[name] = f"failed: {type(error).__name__}: {error}"[:300]
        else:
            results[name] = "ok"
    return all(result == "ok" for result in results.values()), results


async def metrics(_: Request) -> Response:
    """This process' metrics in Prometheus' text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def ops_routes(checks: Mapping[str, Check]) -> list[Route]:
    async def health(_: Request) -> Response:
        healthy, results = await run_checks(checks)
        status = "ok" if healthy else "unhealthy"
        return JSONResponse(
            {"status": status, "checks": results}, status_code=200 if healthy else 503
        )

    return [Route("/health", health), Route("/metrics", metrics)]


class _QuietServer(uvicorn.Server):
    """uvicorn inside a process that owns its signals (faust, aiogram): leave them alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OpsServer:
    """``/health`` and ``/metrics`` of a worker, served until cancelled."""

    def __init__(self, host: str, port: int, checks: Mapping[str, Check]) -> None:
        app = Starlette(routes=ops_routes(checks), middleware=[Middleware(BodyLimitMiddleware)])
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._server = _QuietServer(config)

    async def serve(self) -> None:
        try:
            await self._server.serve()
        finally:
            self._server.should_exit = True

    def stop(self) -> None:
        self._server.should_exit = True
