"""Small HTTP pieces shared by our starlette services: the bearer token, body limits,
and JSON parsing that refuses what ``json.loads`` would choke on."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Collection
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY = 64 * 1024
# Longer number literals are no amount, id or time we could mean; Python refuses ints past
# 4,300 digits with a ValueError of its own, so the cap is ours and well below that.
MAX_NUMBER_CHARS = 64


async def _send_json(
    send: Send, status: int, document: object, *extra: tuple[bytes, bytes]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *extra],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(document).encode()})


class BearerTokenMiddleware:
    """Refuse with 401 any HTTP request without ``Authorization: Bearer <token>``.

    Paths in ``public`` (health checks, metrics, webhooks with their own trust) pass, and
    so do paths under ``delegated`` prefixes: a mounted app there checks a token of its own.
    The comparison is constant-time.
    """

    def __init__(
        self,
        app: ASGIApp,
        token: str,
        public: Collection[str] = ("/health",),
        delegated: Collection[str] = (),
    ) -> None:
        if not token:
            raise ValueError("an empty bearer token would let everyone in")
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.public = frozenset(public)
        self.delegated = tuple(f"{prefix.rstrip('/')}/" for prefix in delegated)

    def _guards(self, path: str) -> bool:
        return path not in self.public and not path.startswith(self.delegated)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._guards(scope["path"]):
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not secrets.compare_digest(given, self.expected):
                error = {"error": "missing or wrong bearer token"}
                await _send_json(send, 401, error, (b"www-authenticate", b"Bearer"))
                return
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    """The request body passed the limit: raised by ``receive`` instead of more body."""


class BodyLimitMiddleware:
    """Refuse a request body over ``max_bytes`` as soon as it passes the limit.

    The app's ``receive`` raises :class:`BodyTooLarge` on the first call when the declared
    ``Content-Length`` is over the limit (no body byte is read, nor ``100 Continue`` sent),
    and otherwise on the message that takes the running total over it: at most one
    server-sized chunk past the limit is ever held. A route may catch it to answer (and
    count) the refusal itself; otherwise this middleware answers 413. Routes that never
    read a body are not affected: the server drops a body nobody reads.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        declared_too_large = declared.isdigit() and int(declared) > self.max_bytes
        received = 0
        answered = False

        async def limited_receive() -> Message:
            nonlocal received
            if declared_too_large:
                raise BodyTooLarge(f"body over {self.max_bytes} bytes")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(f"body over {self.max_bytes} bytes")
            return message

        async def watched_send(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if answered:
                raise
            await _send_json(send, 413, {"error": f"body over {self.max_bytes} bytes"})


class NotJson(ValueError):
    """A body that is no JSON document we would act on; the message says why."""


def _integer(literal: str) -> int:
    if len(literal) > MAX_NUMBER_CHARS:
        raise NotJson(f"number longer than {MAX_NUMBER_CHARS} characters")
    return int(literal)


def _real(literal: str) -> float:
    value = float(literal)
    if len(literal) > MAX_NUMBER_CHARS or not math.isfinite(value):
        raise NotJson(f"number out of range: {literal[:20]}")
    return value


def _constant(name: str) -> float:
    raise NotJson(f"number out of range: {name}")  # NaN, Infinity: not JSON at all


def parse_json(raw: bytes) -> Any:
    """The JSON document in ``raw``, or :class:`NotJson`: also for numbers beyond any sane
    size, non-finite numbers and nesting deeper than the parser goes."""
    try:
        return json.loads(raw, parse_int=_integer, parse_float=_real, parse_constant=_constant)
    except NotJson:
        raise
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotJson(f"body is not JSON: {error}") from error
    except RecursionError as error:
        raise NotJson("body is not JSON: nested too deep") from error
