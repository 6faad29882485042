"""The admin API's OpenAPI 3.1 document, written as data (served at
``/v1/admin/openapi.json``; a test validates it and holds it to the routes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from events.base import MAX_TELEGRAM_ID

_ID = {"type": "integer", "minimum": 1, "maximum": MAX_TELEGRAM_ID}
_TELEGRAM_ID = {
    "name": "telegram_id",
    "in": "path",
    "required": True,
    "description": "The user's Telegram id.",
    "schema": _ID,
}
_ADMIN_ID = {
    "name": "X-Admin-Id",
    "in": "header",
    "required": True,
    "description": "The acting admin's Telegram id: recorded in the command, and told in "
    "the bot when the subscription processor refuses the change.",
    "schema": _ID,
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Repeating a request with the same key (for the same user and action) "
    "publishes the same event id, applied once; without one every request is a new order.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
_ERROR = {"$ref": "#/components/responses/Error"}


def _write(
    summary: str, description: str, body: str | None = None, *, of_user: bool = True
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "parameters": [*([_TELEGRAM_ID] if of_user else []), _ADMIN_ID, _IDEMPOTENCY_KEY],
        "responses": {
            "202": {"$ref": "#/components/responses/Accepted"},
            "400": _ERROR,
            "401": _ERROR,
            "413": _ERROR,
            "422": _ERROR,
            "503": _ERROR,
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return operation


def openapi_document(prefix: str, bodies: dict[str, type[BaseModel]]) -> dict[str, Any]:
    """The document for the admin routes under ``prefix``; ``bodies``: the request models."""
    schemas: dict[str, Any] = {
        name: model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, model in bodies.items()
    }
    schemas["Accepted"] = {
        "type": "object",
        "required": ["event_id", "type", "telegram_id"],
        "properties": {
            "event_id": {"type": "string", "format": "uuid"},
            "type": {"type": "string", "description": "The admin command published."},
            "telegram_id": {"type": "integer"},
        },
    }
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
    }
    user = f"{prefix}/users/{{telegram_id}}"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Keyland admin API",
            "version": "1",
            "description": "Admins' changes to users, published as the same admin commands "
            "as the bot's admin menu. Writes are applied asynchronously: 202 means the "
            "command is on Kafka; read the effect at GET /v1/users/{telegram_id}.",
        },
        "security": [{"bearer": []}],
        "paths": {
            f"{prefix}/users": {
                "post": _write(
                    "Create a user's account",
                    "Publishes UserProvisioned. Only the user's own /start registers them: "
                    "the account waits for it (the view shows grant_pending), and the time "
                    "granted runs from that first /start. For a user registered already "
                    "the time is added at once. A grant past the maximum horizon is "
                    "refused by the processor and the admin told.",
                    "NewAccount",
                    of_user=False,
                )
            },
            f"{user}/time": {
                "post": _write(
                    "Add or take away time",
                    "Publishes SubscriptionAdjusted. Taking time needs active access and "
                    "never ends it in the past; a change past the maximum horizon is refused "
                    "by the processor and the admin told.",
                    "TimeChange",
                )
            },
            user: {
                "delete": _write(
                    "Delete (purge) the user",
                    "Publishes UserPurgeRequested: the user's keys are deleted on every node "
                    "and their profile and access are gone; their next /start registers "
                    "them afresh.",
                )
            },
            f"{user}/block": {
                "put": _write(
                    "Block the user",
                    "Publishes UserBlockRequested (blocked): the user's keys are disabled "
                    "on every node until the block is lifted, whatever time they have; "
                    "their time keeps running and payments still extend it. The block "
                    "belongs to the Telegram id: it holds before a first /start and "
                    "after a delete. The view shows blocked.",
                ),
                "delete": _write(
                    "Lift the block",
                    "Publishes UserBlockRequested (not blocked): the keys work again if "
                    "time is left.",
                ),
            },
            f"{prefix}/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "401": _ERROR,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "KEYLAND_SUBSCRIPTION_ADMIN_TOKEN",
                }
            },
            "schemas": schemas,
            "responses": {
                "Accepted": {
                    "description": "The command is published; it is applied shortly.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}
                    },
                },
                "Error": {
                    "description": "Refused: missing token, bad input, or Kafka unavailable.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        },
    }
