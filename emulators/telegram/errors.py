"""The two ways a request goes wrong: a Bot API error, or a refused control action."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API call Telegram answers with ``{"ok": false, ...}`` instead of a result."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    return ApiError(403, f"Forbidden: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


def conflict(detail: str) -> ApiError:
    return ApiError(409, f"Conflict: {detail}")


class ControlError(Exception):
    """A control request that cannot happen (unknown chat, no such button, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
