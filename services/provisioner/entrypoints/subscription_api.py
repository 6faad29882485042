"""The subscription API: what VPN clients poll, and where the bot finds a user's URL.

- ``GET /sub/{token}``: the user's servers in the format the client reads
  (``domain/formats/``): chosen by ``User-Agent`` (share links in base64 for v2rayNG,
  v2RayTun, Hiddify, Happ, Streisand, Shadowrocket and any agent we do not know; Clash
  YAML for clash-verge, mihomo, ClashX, Stash, FlClash; sing-box JSON for sing-box, SFA,
  SFI), or by ``?format=base64|clash|sing-box|xray``, which wins (an unknown one answers
  400). The servers on nodes announced unreachable (``NodeUnreachable``) are left out
  until the node is back. Headers: ``profile-title``, ``profile-update-interval``,
  ``subscription-userinfo``, ``announce`` when access ends soon or has ended, or some of
  the user's servers are down,
  ``support-url`` and ``profile-web-page-url`` when set. A token that is not genuine, or
  whose key no user holds any more (purged), answers 404: there is no subscription
  behind it. A user without access now (lapsed, or never had any) answers 200 with one
  entry that says access ended and where to renew, and ``expire`` in the past, so
  clients drop the dead servers and show why; after a renewal the same URL fills up again.
  A browser (``Mozilla/`` agent naming no VPN app, ``Accept: text/html``, no
  ``?format=``) gets the subscription page instead (``entrypoints/web_page.py``).
- ``GET /v1/users/{telegram_id}/subscription``: ``{url, active, until, ...}`` and
  ``GET /v1/users/{telegram_id}/links``: ``{links: {country: link}, subscription_url}``
  (without the nodes that are down)
  for the bot, and ``GET /v1/nodes/capacity`` for its admins (``capacity_api.py``), behind
  ``Authorization: Bearer <KEYLAND_PROVISIONER_API_TOKEN>`` (served only when set).
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
from services.provisioner.config import SubscriptionPageSettings
from services.provisioner.domain.access import UserAccess
from services.provisioner.domain.formats import (
    Format,
    UnknownFormat,
    format_for,
    render,
    wants_page,
)
from services.provisioner.domain.subscription_page import (
    CountryLink,
    Profile,
    Usage,
    key_of_token,
    ordered_links,
    page_entries,
    page_headers,
    subscription_token,
)
from services.provisioner.entrypoints.capacity_api import capacity_route
from services.provisioner.entrypoints.web_page import BrowserPage


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


async def _links(container: ApiContainer, key_id: uuid.UUID) -> tuple[list[CountryLink], set[str]]:
    """The key's links on every node, and which of those nodes are announced down."""
    links = await container.records.links(key_id)
    return links, await container.records.down(link.node for link in links)


def _profile(settings: SubscriptionPageSettings) -> Profile:
    return Profile(
        title=settings.profile_title,
        update_interval_hours=settings.update_interval_hours,
        announce_days=settings.announce_days,
        bot_username=settings.bot_username,
        support_url=settings.support_url,
        web_page_url=settings.web_page_url,
    )


async def _for_client(
    container: ApiContainer, profile: Profile, chosen: Format, key_id: uuid.UUID, access: UserAccess
) -> Response:
    """The subscription in the VPN client's format, with the headers clients read."""
    now = datetime.now(UTC)
    active = access.active_at(now)
    links, down = await _links(container, key_id) if active else ([], set())
    entries = page_entries(active, links, access.region, profile, blocked=access.blocked, down=down)
    page = render(chosen, entries, profile.title)
    usage = await _usage(container, key_id)
    headers = page_headers(
        profile,
        usage,
        access.until,
        active,
        now,
        blocked=access.blocked,
        down_countries=[link.country for link in links if link.node in down],
    )
    headers["cache-control"] = "no-store"
    return Response(page.body, media_type=page.media_type, headers=headers)


def build_app(container: ApiContainer) -> Starlette:
    settings = container.settings
    secret = settings.subscription_secret.get_secret_value().encode()
    profile = _profile(settings)
    browser_page = BrowserPage(container, profile)

    async def subscription(request: Request) -> Response:
        agent, requested = request.headers.get("user-agent", ""), request.query_params.get("format")
        try:
            chosen = format_for(agent, requested)
        except UnknownFormat as error:
            return PlainTextResponse(f"{error}\n", status_code=400)
        key_id = key_of_token(request.path_params["token"], secret)
        access = None if key_id is None else await container.accesses.holding(key_id)
        if key_id is None or access is None:
            return PlainTextResponse("no such subscription\n", status_code=404)
        if wants_page(agent, request.headers.get("accept", ""), requested):
            return await browser_page(request, key_id, access)
        return await _for_client(container, profile, chosen, key_id, access)

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
        every, down = await _links(container, access.key_id)
        links: dict[str, str] = {}
        for link in ordered_links(every, access.region):
            if link.node not in down:
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
            if container.traffic is not None:
                await container.traffic.close()

    health, metrics_route = ops_routes({"database": checks.database(container.db)})
    routes: list[Route | Mount] = [health, Route("/sub/{token}", subscription)]
    if settings.api_token is not None:  # /metrics, like /v1, only with the token
        internal = Router(
            [
                Route("/users/{telegram_id}/subscription", user_subscription),
                Route("/users/{telegram_id}/links", user_links),
                capacity_route(container),
            ]
        )
        token = settings.api_token.get_secret_value()
        routes.append(Mount("/v1", app=BearerTokenMiddleware(internal, token, public=())))
        routes.append(Route("/metrics", BearerTokenMiddleware(metrics_route.app, token, public=())))
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(BodyLimitMiddleware)])
