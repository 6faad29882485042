"""The Bot API route, ``/bot<token>/<method>``: GET or POST, any of Telegram's encodings.

Answers are Telegram's envelope: ``{"ok": true, "result": ...}`` or ``{"ok": false,
"error_code", "description", "parameters"?}`` with the same HTTP status as ``error_code``.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from emulators.telegram.emulator import Emulator, result_body
from emulators.telegram.errors import ApiError
from emulators.telegram.params import decode

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 50 * 1024 * 1024


def failure(error: ApiError) -> JSONResponse:
    return JSONResponse(error.to_json(), status_code=error.status)


def api_routes(emulator: Emulator) -> list[BaseRoute]:
    async def call(request: Request) -> JSONResponse:
        runtime = emulator.by_token(request.path_params["token"])
        if runtime is None:
            return failure(ApiError(401, "Unauthorized"))
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return failure(ApiError(413, "Request Entity Too Large"))

        async def gone() -> Message:
            """The next ASGI message after the body can only be the client going away."""
            return await request.receive()

        try:
            params = decode(request.headers.get("content-type", ""), body, request.query_params)
            result = await emulator.invoke(runtime, request.path_params["method"], params, gone)
        except ApiError as error:
            return failure(error)
        except Exception:
            log.exception("%s failed", request.path_params["method"])
            return failure(ApiError(500, "Internal Server Error"))
        return JSONResponse(result_body(result))

    async def no_method(request: Request) -> JSONResponse:
        if emulator.by_token(request.path_params["token"]) is None:
            return failure(ApiError(401, "Unauthorized"))
        return failure(ApiError(404, "Not Found"))

    return [
        Route("/bot{token}/{method}", call, methods=["GET", "POST"]),
        Route("/bot{token}/", no_method, methods=["GET", "POST"]),
    ]
