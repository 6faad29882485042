"""The subscription API: what VPN clients poll, and where the bot finds a user's URL.

- ``GET /sub/{token}``: the user's country links, base64 (v2rayN style), with the
  ``profile-title``, ``profile-update-interval`` and ``subscription-userinfo`` headers.
  A token that is not genuine, or whose key no user holds any more (purged), answers 404:
  there is no subscription behind it. A user without access now (lapsed, or never had
  any) answers 200 with an empty list and ``expire`` in the past, so clients drop the
  dead servers and show when access ended; after a renewal the same URL fills up again.
- ``GET /v1/users/{telegram_id}/subscription``: ``{url, active, until, ...}`` and
  ``GET /v1/users/{telegram_id}/links``: ``{links: {country: link}, subscription_url}``
  for the bot, behind ``Authorization: Bearer <KEYLAND_PROVISIONER_API_TOKEN>`` (served
  only when set).
- ``GET /health`` (the database answers), ``GET /metrics`` (with the API token).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, Router

from keyland.http import BearerTokenMiddleware, BodyLimitMiddleware
from keyland.observability import checks
from keyland.observability.ops_server import ops_routes
from services.provisioner.bootstrap import ApiContainer
from services.provisioner.domain.subscription_page import (
    Usage,
    key_of_token,
    ordered_links,
    page_body,
    page_headers,
    subscription_token,
)


async def _usage(container: ApiContainer, key_id: uuid.UUID) -> Usage:
    """Traffic summed over the nodes that answer in time (best effort: counters restart
    with each node's Xray, and a node that does not answer counts nothing)."""
    calls = [
        container.clients.for_node(node).usage(key_id)
        for node in await container.records.nodes_of(key_id)
        if container.clients.has_token(node)
    ]
    try:
        answers = await asyncio.wait_for(
            asyncio.gather(*calls, return_exceptions=True),
            container.settings.traffic_timeout_s,
        )
    except TimeoutError:
        return Usage()
    total = Usage()
    for answer in answers:
        if isinstance(answer, Usage):
            total += answer
    return total


def build_app(container: ApiContainer) -> Starlette:
    settings = container.settings
    secret = settings.subscription_secret.get_secret_value().encode()

    async def subscription(request: Request) -> Response:
        key_id = key_of_token(request.path_params["token"], secret)
        access = None if key_id is None else await container.accesses.holding(key_id)
        if key_id is None or access is None:
            return PlainTextResponse("no such subscription\n", status_code=404)
        links = []
        if access.active_at(datetime.now(UTC)):
            links = ordered_links(await container.records.links(key_id), access.region)
        usage = await _usage(container, key_id)
        headers = page_headers(
            settings.profile_title, settings.update_interval_hours, usage, access.until
        )
        headers["cache-control"] = "no-store"
        return Response(page_body(links), media_type="text/plain", headers=headers)

    async def user_subscription(request: Request) -> Response:
        raw = request.path_params["telegram_id"]
        if not raw.isdigit():
            return JSONResponse({"error": "telegram_id must be a positive integer"}, 422)
        access = await container.accesses.load(int(raw))
        if access.key_id is None:
            return JSONResponse({"error": f"user {raw} has no key"}, 404)
        token = subscription_token(access.key_id, secret)
        until = access.until.isoformat() if access.until else None
        return JSONResponse(
            {
                "telegram_id": access.telegram_id,
                "key_id": str(access.key_id),
                "url": f"{settings.public_url.rstrip('/')}/sub/{token}",
                "active": access.active_at(datetime.now(UTC)),
                "until": until,
            }
        )

    async def user_links(request: Request) -> Response:
        """The bot's view: one link per country (preferred first) and the URL; 404 when
        the user has no key or no access now."""
        raw = request.path_params["telegram_id"]
        if not raw.isdigit():
            return JSONResponse({"error": "telegram_id must be a positive integer"}, 422)
        access = await container.accesses.load(int(raw))
        if access.key_id is None or not access.active_at(datetime.now(UTC)):
            return JSONResponse({"error": f"user {raw} has no active key"}, 404)
        links: dict[str, str] = {}
        for link in sorted(
            await container.records.links(access.key_id),
            key=lambda c: (c.country != access.region, c.country, c.node),
        ):
            links.setdefault(link.country, link.link)
        token = subscription_token(access.key_id, secret)
        return JSONResponse(
            {"links": links, "subscription_url": f"{settings.public_url.rstrip('/')}/sub/{token}"}
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await container.clients.close()

    health, metrics_route = ops_routes({"database": checks.database(container.db)})
    routes: list[Route | Mount] = [health, Route("/sub/{token}", subscription)]
    if settings.api_token is not None:  # /metrics, like /v1, only with the token
        internal = Router(
            [
                Route("/users/{telegram_id}/subscription", user_subscription),
                Route("/users/{telegram_id}/links", user_links),
            ]
        )
        token = settings.api_token.get_secret_value()
        routes.append(Mount("/v1", app=BearerTokenMiddleware(internal, token, public=())))
        routes.append(Route("/metrics", BearerTokenMiddleware(metrics_route.app, token, public=())))
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(BodyLimitMiddleware)])
