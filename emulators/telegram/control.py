"""Control routes for what users do, under ``/emulator/bots/{bot}/``: write, press, pay, block.

Not part of Telegram and not authenticated. ``{bot}`` is the bot's id or username. Each
answers with the update it caused (``null`` when the bot does not receive that kind of
update); the update is queued for getUpdates or sent to the webhook.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from emulators.telegram import actions, web_apps
from emulators.telegram.emulator import Emulator
from emulators.telegram.errors import ControlError
from emulators.telegram.runtime import Runtime
from emulators.telegram.state import BotState

Handler = Callable[[Runtime, dict[str, Any], float], dict[str, Any]]


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as error:
        raise ControlError(400, f"body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


def user_id_of(bot: BotState, body: dict[str, Any]) -> int:
    """``user_id``, or the ``id`` of ``user``: someone who has talked to the bot."""
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else body.get("user_id")
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise ControlError(400, "give user_id (an integer) or user {id, ...}")
    actions.chat_of(bot, user_id)
    return user_id


def message_id_of(body: dict[str, Any]) -> int:
    message_id = body.get("message_id")
    if not isinstance(message_id, int) or isinstance(message_id, bool):
        raise ControlError(400, "message_id must be an integer")
    return message_id


def sends(runtime: Runtime, body: dict[str, Any], now: float) -> dict[str, Any]:
    """A user writes ``text`` (``/start ref_123`` is a deep link) to the bot."""
    text = body.get("text")
    if not isinstance(text, str):
        raise ControlError(400, "text must be a string")
    who = actions.known_or_new(runtime.state, body.get("user"))
    return {"update": actions.user_sends(runtime.state, who, text, now)}


def presses(runtime: Runtime, body: dict[str, Any], now: float) -> dict[str, Any]:
    """A user presses the inline button with ``data`` (or ``text``) under ``message_id``."""
    bot = runtime.state
    data, text = body.get("data"), body.get("text")
    if not isinstance(data, str) and not isinstance(text, str):
        raise ControlError(400, "give the button's data (callback_data) or its text")
    query_id, update = actions.user_presses(
        bot,
        user_id_of(bot, body),
        message_id_of(body),
        now,
        data=data if isinstance(data, str) else None,
        text=text if isinstance(text, str) else None,
    )
    return {"callback_query_id": query_id, "update": update}


def checks_out(runtime: Runtime, body: dict[str, Any], now: float) -> dict[str, Any]:
    """A user presses Pay on an invoice (``message_id``) or on terms given here."""
    bot = runtime.state
    query_id, update = actions.user_checks_out(bot, user_id_of(bot, body), body, now)
    return {"pre_checkout_query_id": query_id, "update": update}


def pays(runtime: Runtime, body: dict[str, Any], now: float) -> dict[str, Any]:
    """The payment completes: a successful_payment message from the user."""
    bot = runtime.state
    charge, update = actions.user_pays(bot, user_id_of(bot, body), body, now)
    return {"telegram_payment_charge_id": charge.id, "update": update}


def opens_web_app(runtime: Runtime, body: dict[str, Any], now: float) -> dict[str, Any]:
    """The user taps the bot's menu button: the web app's URL with signed launch data;
    ``auth_date`` (Unix time) plays an app opened then."""
    auth_date = body.get("auth_date")
    if auth_date is not None and (not isinstance(auth_date, int) or isinstance(auth_date, bool)):
        raise ControlError(400, "auth_date must be a Unix time")
    user = body.get("user")
    bot = runtime.state
    who = actions.known_or_new(bot, user) if user is not None else None
    if who is None:
        who = actions.chat_of(bot, user_id_of(bot, body)).person
    return web_apps.opened(bot, who, now, auth_date)


def control_routes(emulator: Emulator) -> list[BaseRoute]:
    def acting(handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> JSONResponse:
            runtime = emulator.find(request.path_params["bot"])
            body = await json_body(request)
            answer = handler(runtime, body, emulator.clock())
            emulator.changed(runtime)
            return JSONResponse(answer)

        return endpoint

    def blocking(blocked: bool) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> JSONResponse:
            runtime = emulator.find(request.path_params["bot"])
            user_id = request.path_params["user_id"]
            update = actions.set_blocked(runtime.state, user_id, blocked, emulator.clock())
            emulator.changed(runtime)
            return JSONResponse({"user_id": user_id, "blocked": blocked, "update": update})

        return endpoint

    bot = "/emulator/bots/{bot}"
    return [
        Route(f"{bot}/messages", acting(sends), methods=["POST"]),
        Route(f"{bot}/callbacks", acting(presses), methods=["POST"]),
        Route(f"{bot}/pre-checkout-queries", acting(checks_out), methods=["POST"]),
        Route(f"{bot}/payments", acting(pays), methods=["POST"]),
        Route(f"{bot}/web-app", acting(opens_web_app), methods=["POST"]),
        Route(f"{bot}/users/{{user_id:int}}/block", blocking(True), methods=["POST"]),
        Route(f"{bot}/users/{{user_id:int}}/unblock", blocking(False), methods=["POST"]),
    ]
