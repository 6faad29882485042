"""Control routes that look and configure: bots, chats' messages (optionally waiting for
them), answers to callback and pre-checkout queries, charges, flood limits, reset.

Waiting routes take ``timeout`` (seconds, at most 60) and answer 408, with what there is,
if it runs out; they never depend on sleeping in the test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from emulators.telegram import polling, web_apps, wire
from emulators.telegram.control import json_body
from emulators.telegram.emulator import Emulator
from emulators.telegram.errors import ControlError
from emulators.telegram.limits import RateLimits
from emulators.telegram.params import Params
from emulators.telegram.runtime import Runtime

MAX_WAIT_S = 60.0
Endpoint = Callable[[Emulator, Request], Awaitable[JSONResponse]]


def number(request: Request, name: str, default: float, highest: float = MAX_WAIT_S) -> float:
    raw = request.query_params.get(name)
    try:
        value = default if raw is None else float(raw)
    except ValueError as error:
        raise ControlError(400, f"{name} must be a number") from error
    if not 0 <= value <= highest:
        raise ControlError(400, f"{name} must be between 0 and {highest:g}")
    return value


def summary(runtime: Runtime, now: float) -> dict[str, Any]:
    bot = runtime.state
    return wire.bot_user(bot.account) | {
        "webhook": polling.get_webhook_info(bot, Params({}), now),
        "allowed_updates": sorted(bot.updates.allowed),
        "pending_updates": len(bot.updates.ready(now)),
        "commands": bot.commands,
        "menu_button": web_apps.shown_button(bot, None),
        "rate_limits": bot.throttle.limits.to_json(),
        "chats": sorted(bot.chats),
    }


def runtime_of(emulator: Emulator, request: Request) -> Runtime:
    return emulator.find(request.path_params["bot"])


async def bots(emulator: Emulator, request: Request) -> JSONResponse:
    now = emulator.clock()
    return JSONResponse({"bots": [summary(r, now) for r in emulator.runtimes.values()]})


async def bot(emulator: Emulator, request: Request) -> JSONResponse:
    return JSONResponse(summary(runtime_of(emulator, request), emulator.clock()))


async def reset(emulator: Emulator, request: Request) -> JSONResponse:
    """Forget every chat, update, webhook, payment; flood limits back to the defaults."""
    await emulator.reset()
    return JSONResponse({"reset": True})


async def messages(emulator: Emulator, request: Request) -> JSONResponse:
    """A chat's messages, oldest first; ``min_count`` waits until there are that many (of
    ``sender`` bot or user, if given)."""
    runtime, chat_id = runtime_of(emulator, request), request.path_params["chat_id"]
    sender = request.query_params.get("sender")
    if sender not in {None, "bot", "user"}:
        raise ControlError(400, "sender must be bot or user")
    wanted = int(number(request, "min_count", 0, highest=10_000))

    def listed() -> list[Any]:
        chat = runtime.state.chats.get(chat_id)
        found = [] if chat is None else chat.messages
        return [m for m in found if sender is None or m.sender == sender]

    def size() -> object:  # what a change must move for the wait to look again
        chat = runtime.state.chats.get(chat_id)
        return id(runtime.state), None if chat is None else len(chat.messages)

    arrived = await runtime.changes.until(
        lambda: len(listed()) >= wanted, number(request, "timeout", 10), probe=size
    )
    chat = runtime.state.chats.get(chat_id)
    body = {
        "chat_id": chat_id,
        "user": None if chat is None else wire.person(chat.person),
        "blocked": chat is not None and chat.blocked,
        "throttled": 0 if chat is None else chat.throttled,
        "messages": [wire.view(m) for m in listed()],
    }
    if not arrived:
        body["error"] = f"timed out waiting for {wanted} messages"
    return JSONResponse(body, status_code=200 if arrived else 408)


def answered(kind: str) -> Endpoint:
    async def endpoint(emulator: Emulator, request: Request) -> JSONResponse:
        """The query and the bot's answer; ``timeout`` waits for the answer (408 if none)."""
        runtime, query_id = runtime_of(emulator, request), request.path_params["query_id"]

        def query() -> Any:
            found = getattr(runtime.state, kind).get(query_id)
            if found is None:
                raise ControlError(404, f"no query {query_id}")
            return found

        waiting = "timeout" in request.query_params
        done = await runtime.changes.until(
            lambda: query().answer is not None, number(request, "timeout", 0)
        )
        status = 408 if waiting and not done else 200
        return JSONResponse(asdict(query()) | {"answered": done}, status_code=status)

    return endpoint


async def charges(emulator: Emulator, request: Request) -> JSONResponse:
    runtime = runtime_of(emulator, request)
    return JSONResponse({"items": [asdict(c) for c in runtime.state.charges.values()]})


async def rate_limits(emulator: Emulator, request: Request) -> JSONResponse:
    """GET, or PUT ``{"enabled", "per_chat", "overall", "window_s"}`` (any of them)."""
    runtime = runtime_of(emulator, request)
    throttle = runtime.state.throttle
    if request.method == "PUT":
        wanted = throttle.limits.to_json() | await json_body(request)
        try:
            throttle.configure(RateLimits(**wanted))
        except (TypeError, ValueError) as error:
            raise ControlError(400, f"bad rate limits: {error}") from error
    counts = {str(chat_id): chat.throttled for chat_id, chat in runtime.state.chats.items()}
    return JSONResponse(throttle.limits.to_json() | {"throttled": counts})


async def webhook(emulator: Emulator, request: Request) -> JSONResponse:
    """getWebhookInfo, plus every delivery so far; ``timeout`` first waits until no update
    is pending (each delivered or given up), answering 408 if some still are."""
    runtime = runtime_of(emulator, request)
    settled = await runtime.changes.until(
        lambda: not runtime.state.updates.pending, number(request, "timeout", 0)
    )
    status = 408 if "timeout" in request.query_params and not settled else 200
    info = polling.get_webhook_info(runtime.state, Params({}), emulator.clock())
    return JSONResponse(info | {"deliveries": list(runtime.deliveries)}, status_code=status)


async def updates(emulator: Emulator, request: Request) -> JSONResponse:
    """Updates not yet confirmed by getUpdates (or not yet delivered to the webhook)."""
    runtime = runtime_of(emulator, request)
    return JSONResponse({"items": runtime.state.updates.ready(emulator.clock())})


def observe_routes(emulator: Emulator) -> list[BaseRoute]:
    def bound(endpoint: Endpoint) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def route(request: Request) -> JSONResponse:
            return await endpoint(emulator, request)

        return route

    at = "/emulator/bots/{bot}"
    return [
        Route("/emulator/bots", bound(bots), methods=["GET"]),
        Route("/emulator/reset", bound(reset), methods=["POST"]),
        Route(at, bound(bot), methods=["GET"]),
        Route(f"{at}/chats/{{chat_id:int}}/messages", bound(messages), methods=["GET"]),
        Route(f"{at}/callbacks/{{query_id}}", bound(answered("callbacks")), methods=["GET"]),
        Route(
            f"{at}/pre-checkout-queries/{{query_id}}",
            bound(answered("pre_checkouts")),
            methods=["GET"],
        ),
        Route(f"{at}/payments", bound(charges), methods=["GET"]),
        Route(f"{at}/rate-limits", bound(rate_limits), methods=["GET", "PUT"]),
        Route(f"{at}/webhook", bound(webhook), methods=["GET"]),
        Route(f"{at}/updates", bound(updates), methods=["GET"]),
    ]
