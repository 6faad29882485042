"""Small HTTP pieces shared by our starlette services."""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send


class BearerTokenMiddleware:
    """Refuse with 401 any HTTP request without ``Authorization: Bearer <token>``.

    Paths in ``public`` (health checks, metrics, webhooks with their own trust) pass.
    The comparison is constant-time.
    """

    def __init__(self, app: ASGIApp, token: str, public: Collection[str] = ("/health",)) -> None:
        if not token:
            raise ValueError("an empty bearer token would let everyone in")
        self.app = app
        self.expected = f"Bearer {token}".encode()
        self.public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.public:
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not secrets.compare_digest(given, self.expected):
                body = json.dumps({"error": "missing or wrong bearer token"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
