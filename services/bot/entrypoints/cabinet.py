"""The Mini App cabinet over HTTP (``python -m services.bot cabinet``).

- ``GET /app``: the page the bot's menu button opens (public: it holds no user data).
- ``GET /app/view``: the user's part, HTML in their language.
- ``POST /app/renew`` ``{"plan", "method": "yookassa" | "stars"}``: starts a payment;
  ``{"method", "plan", "url", "payment_id"}`` where it is paid (a YooKassa confirmation
  page, or a ``https://t.me/$...`` Stars invoice link); 422 for a plan not on sale (in
  that currency).
- ``GET /health``.

The user is the one Telegram's initData names, sent as ``Authorization: tma <initData>``
and checked by its HMAC with the bot token and its ``auth_date``
(``KEYLAND_BOT_CABINET_AUTH_MAX_AGE_S``); without one that checks out, ``view`` and
``renew`` answer 401. A service behind them that does not answer gives 503.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from keyland.http import BodyLimitMiddleware
from keyland.observability.ops_server import ops_routes
from keyland.texts import language_of
from keyland.web.html import content_security_policy
from keyland.web.i18n import preferred_language
from services.bot.adapters.http_api import Unavailable
from services.bot.cabinet import handlers, page
from services.bot.cabinet.handlers import CabinetDeps, Method, RenewRefused
from services.bot.domain.init_data import InitDataRefused, WebAppUser, validated

log = logging.getLogger(__name__)

SCHEME = "tma "
NO_STORE = {"Cache-Control": "no-store"}
PAGE_HEADERS = {
    **NO_STORE,
    # Telegram's web client shows a Mini App in a frame; its phone apps in a web view.
    "Content-Security-Policy": content_security_policy(
        scripts=[page.SCRIPT], connect_self=True, frame_ancestors="https://web.telegram.org"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept-Language",
}


class RenewOrder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    plan: str
    method: Method = "yookassa"


def _browser_language(request: Request) -> str:
    return preferred_language(request.headers.get("accept-language"))


def build_app(
    deps: CabinetDeps,
    bot_token: str,
    max_age: timedelta,
    zone: ZoneInfo,
    close: Callable[[], Awaitable[None]] | None = None,
) -> Starlette:
    """The cabinet's routes; ``bot_token`` checks initData, ``max_age`` its freshness;
    dates on ``zone``'s clock; ``close`` releases the clients when the server stops."""

    def user_of(request: Request) -> WebAppUser | None:
        header = request.headers.get("authorization", "")
        if not header.startswith(SCHEME):
            log.info("cabinet call without initData refused")
            return None
        try:
            return validated(header.removeprefix(SCHEME), bot_token, datetime.now(UTC), max_age)
        except InitDataRefused as refusal:
            log.info("cabinet initData refused: %s", refusal)
            return None

    async def app_page(request: Request) -> Response:
        return HTMLResponse(page.shell(_browser_language(request)), headers=PAGE_HEADERS)

    async def view(request: Request) -> Response:
        user = user_of(request)
        if user is None:
            body = page.refused(_browser_language(request), "cabinet_refused")
            return HTMLResponse(body, status_code=401, headers=NO_STORE)
        try:
            found = await handlers.view(deps, user)
        except Unavailable as error:
            log.warning("cabinet of %s not shown: %s", user.telegram_id, error)
            body = page.refused(language_of(user.language_code), "cabinet_unavailable")
            return HTMLResponse(body, status_code=503, headers=NO_STORE)
        return HTMLResponse(page.cabinet(found, zone), headers=NO_STORE)

    async def renew(request: Request) -> Response:
        user = user_of(request)
        if user is None:
            return JSONResponse({"error": "open the cabinet from the bot's menu"}, 401)
        try:
            order = RenewOrder.model_validate_json(await request.body())
            started = await handlers.renew(deps, user, order.plan, order.method)
        except ValidationError as error:
            errors = error.errors(include_url=False, include_context=False, include_input=False)
            return JSONResponse({"error": "bad order", "errors": errors}, 422)
        except RenewRefused as refusal:
            return JSONResponse({"error": str(refusal)}, 422)
        except Unavailable as error:
            log.warning("renewal of %s not started: %s", user.telegram_id, error)
            return JSONResponse({"error": "payments are unavailable; try again"}, 503)
        log.info("renewal of %s started: %s %s", user.telegram_id, started.method, started.plan)
        return JSONResponse(
            {
                "method": started.method,
                "plan": started.plan,
                "url": started.url,
                "payment_id": started.payment_id,
            },
            headers=NO_STORE,
        )

    routes: list[Route] = [
        *[r for r in ops_routes({}) if r.path == "/health"],
        Route("/app", app_page),
        Route("/app/", app_page),
        Route("/app/view", view),
        Route("/app/renew", renew, methods=["POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close is not None:
                await close()

    return Starlette(routes=routes, middleware=[Middleware(BodyLimitMiddleware)], lifespan=lifespan)
