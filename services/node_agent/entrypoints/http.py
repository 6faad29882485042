"""The node agent's HTTP API, used by the provisioner.

Every route except ``GET /v1/health`` needs ``Authorization: Bearer <token>``.

- ``PUT /v1/users/{key_id}``: enable (idempotent); answers the user's connection link.
- ``DELETE /v1/users/{key_id}``: disable (idempotent).
- ``PATCH /v1/users``: many at once, ``{"enable": [key ids], "disable": [key ids]}``
  (idempotent; at most 1000 keys); answers ``{"enabled": {key: link}, "disabled": [key],
  "refused": {key: why}}``, ``refused`` holding the keys Xray turned down.
- ``GET /v1/users``: the enabled key ids, tagged (``ETag``) with the version of the
  agent's record; asked ``If-None-Match`` that tag, an unchanged record answers 304.
- ``GET /v1/users/{key_id}/traffic``: uplink and downlink bytes since Xray started.
- ``GET /v1/traffic``: every user's counters in one call, ``{"xray_uptime_s": n, "users":
  {key: {"uplink_bytes": n, "downlink_bytes": n}}}`` (counters are not reset; they restart
  with Xray, which the smaller uptime tells; a user that never connected may be absent).
- ``GET /v1/load``: Xray's load over the agent's last measuring interval: ``cpu_cores``,
  ``memory_bytes``, ``throughput_bps`` (users' bytes per second, both directions),
  ``connections`` (open VLESS connections), ``online_users`` (users whose traffic moved),
  with the host's ``host_cpu_cores`` and ``host_memory_bytes``; 503 until measured.
- ``GET /v1/health``: 200 when the agent runs and Xray answers, 503 otherwise.
- ``GET /metrics``: Prometheus metrics of the agent process (token required).

A key id that is not a UUID, or a malformed batch, is answered 422 and changes nothing; Xray unreachable is answered 503.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from keyland.http import BodyLimitMiddleware
from keyland.observability.ops_server import metrics
from services.node_agent.adapters.xray_api import XrayRejected, XrayUnavailable
from services.node_agent.domain.batch import MalformedBatch, parse_batch
from services.node_agent.domain.keys import KeyId, MalformedKeyId, parse_key_id
from services.node_agent.entrypoints.load_sampler import LoadSampler
from services.node_agent.handlers import NodeUsers

HEALTH_PATH = "/v1/health"


class Running(Protocol):
    """What the lifespan needs from the built agent (see ``bootstrap``)."""

    users: NodeUsers
    load: LoadSampler

    async def aclose(self) -> None: ...


class BearerAuth:
    """Refuses, with 401 and before any route runs, requests without the node's token."""

    def __init__(self, app: ASGIApp, token: SecretStr, open_paths: frozenset[str]) -> None:
        self.app = app
        self.expected = f"Bearer {token.get_secret_value()}".encode()
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.open_paths:
            given = Headers(scope=scope).get("authorization", "").encode()
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse(
                    {"error": "unauthorized"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="keyland-node"'},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _users(request: Request) -> NodeUsers:
    users: NodeUsers = request.state.users
    return users


def _key_id(request: Request) -> KeyId:
    return parse_key_id(str(request.path_params["key_id"]))


async def enable_user(request: Request) -> Response:
    key_id = _key_id(request)
    link = await _users(request).enable(key_id)
    return JSONResponse({"key_id": key_id, "enabled": True, "link": link})


async def disable_user(request: Request) -> Response:
    key_id = _key_id(request)
    await _users(request).disable(key_id)
    return JSONResponse({"key_id": key_id, "enabled": False})


async def change_users(request: Request) -> Response:
    try:
        body = await request.json()
    except ValueError as error:
        raise MalformedBatch(f"not JSON: {error}") from error
    result = await _users(request).apply(parse_batch(body))
    return JSONResponse(
        {"enabled": result.links, "disabled": list(result.disabled), "refused": result.refused}
    )


async def list_users(request: Request) -> Response:
    users = _users(request)
    tag = users.store.tag
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers={"ETag": tag})
    return JSONResponse({"key_ids": users.enabled()}, headers={"ETag": tag})


async def user_traffic(request: Request) -> Response:
    key_id = _key_id(request)
    users = _users(request)
    traffic = await users.traffic(key_id)
    return JSONResponse(
        {
            "key_id": key_id,
            "enabled": users.is_enabled(key_id),
            "uplink_bytes": traffic.uplink,
            "downlink_bytes": traffic.downlink,
        }
    )


async def all_traffic(request: Request) -> Response:
    users = _users(request)
    uptime_s = await users.xray_uptime_s()
    counters = await users.traffic_of_all()
    return JSONResponse(
        {
            "xray_uptime_s": uptime_s,
            "users": {
                key: {"uplink_bytes": traffic.uplink, "downlink_bytes": traffic.downlink}
                for key, traffic in counters.items()
            },
        }
    )


async def node_load(request: Request) -> Response:
    sampler: LoadSampler = request.state.load
    if sampler.latest is None:
        return JSONResponse({"error": "load not measured yet"}, status_code=503)
    host = {"host_cpu_cores": sampler.cpu_cores, "host_memory_bytes": sampler.memory_bytes}
    return JSONResponse(sampler.latest.as_json() | host)


async def health(request: Request) -> Response:
    try:
        uptime_s = await _users(request).xray_uptime_s()
    except (XrayUnavailable, XrayRejected):
        return JSONResponse({"agent": "up", "xray": "unreachable"}, status_code=503)
    return JSONResponse({"agent": "up", "xray": "up", "xray_uptime_s": uptime_s})


async def _malformed(_: Request, error: Exception) -> Response:
    return JSONResponse({"error": str(error)}, status_code=422)


async def _unavailable(_: Request, error: Exception) -> Response:
    return JSONResponse({"error": f"xray unavailable: {error}"}, status_code=503)


async def _rejected(_: Request, error: Exception) -> Response:
    return JSONResponse({"error": f"xray refused: {error}"}, status_code=502)


def create_app(token: SecretStr, build: Callable[[], Awaitable[Running]]) -> Starlette:
    """The ASGI app; ``build`` makes the clients when the server starts, not before."""

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, NodeUsers | LoadSampler]]:
        running = await build()
        try:
            yield {"users": running.users, "load": running.load}
        finally:
            await running.aclose()

    return Starlette(
        routes=[
            Route("/v1/users", list_users, methods=["GET"]),
            Route("/v1/users", change_users, methods=["PATCH"]),
            Route("/v1/users/{key_id}", enable_user, methods=["PUT"]),
            Route("/v1/users/{key_id}", disable_user, methods=["DELETE"]),
            Route("/v1/users/{key_id}/traffic", user_traffic, methods=["GET"]),
            Route("/v1/traffic", all_traffic, methods=["GET"]),
            Route("/v1/load", node_load, methods=["GET"]),
            Route(HEALTH_PATH, health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        middleware=[
            Middleware(BodyLimitMiddleware),
            Middleware(BearerAuth, token=token, open_paths=frozenset({HEALTH_PATH})),
        ],
        exception_handlers={
            MalformedKeyId: _malformed,
            MalformedBatch: _malformed,
            XrayUnavailable: _unavailable,
            XrayRejected: _rejected,
        },
        lifespan=lifespan,
    )
