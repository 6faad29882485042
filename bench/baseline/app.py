"""BASELINE for the benchmarks, not a Keyland component.

A seed-style backend: one synchronous Flask app on pymongo that does everything inside
the request. Creating a user inserts the document with a trial and then calls every
country node's HTTP API, one after the other, before it answers; a payment updates the
document and re-enables the key on every node the same way. No queue, no retry, no
idempotency beyond a payment id list in the user's document.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import httpx
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

TRIAL_DAYS = 3
Document = dict[str, Any]


class Node(TypedDict):
    url: str
    token: str


MAX_POOL_SIZE = 48
"""The baseline's pymongo pool: within the reserve the local FerretDB's pool keeps for
tools (``keyland_tools.stack.ferretdb.RESERVED_FOR_TOOLS``); pymongo's default of 100 could
exhaust FerretDB's pool together with the services'."""


def create_app(mongo_url: str, database: str, nodes: Mapping[str, Node]) -> Flask:
    """``nodes``: country → its node agent (base URL and bearer token)."""
    app = Flask("keyland-bench-baseline")
    users = MongoClient[Document](mongo_url, maxPoolSize=MAX_POOL_SIZE)[database]["users"]

    def auth(node: Node) -> dict[str, str]:
        return {"Authorization": f"Bearer {node['token']}"}

    def enable_everywhere(key_id: str) -> dict[str, str]:
        links = {}
        for country, node in nodes.items():
            url = f"{node['url']}/v1/users/{key_id}"
            answer = httpx.put(url, headers=auth(node), timeout=30)
            answer.raise_for_status()
            links[country] = str(answer.json()["link"])
        return links

    @app.get("/health")
    def health() -> ResponseReturnValue:
        return jsonify({"up": True})

    def new_user(telegram_id: int, until: datetime, trial: bool) -> Document:
        return {
            "_id": telegram_id,
            "key_id": str(uuid.uuid4()),
            "until": until,
            "trial_used": trial,
            "created_at": datetime.now(UTC),
            "payments": [],
        }

    @app.post("/users")
    def create_user() -> ResponseReturnValue:
        telegram_id = int(request.get_json()["telegram_id"])
        user = new_user(telegram_id, datetime.now(UTC) + timedelta(days=TRIAL_DAYS), trial=True)
        try:
            users.insert_one(user)
        except DuplicateKeyError:
            return jsonify({"error": "exists"}), 409
        links = enable_everywhere(user["key_id"])
        return jsonify({"key_id": user["key_id"], "links": links})

    @app.post("/payments")
    def payment() -> ResponseReturnValue:
        """A paid notification: extend (a payer the bot never saw is created), then enable
        the key on every node."""
        body = request.get_json()
        telegram_id, payment_id = int(body["telegram_id"]), str(body["payment_id"])
        now = datetime.now(UTC)
        user = users.find_one({"_id": telegram_id})
        if user is None:
            user = new_user(telegram_id, now, trial=False)
            users.insert_one(user)
        if payment_id in user["payments"]:
            return jsonify({"until": user["until"].isoformat(), "duplicate": True})
        until = max(user["until"].replace(tzinfo=UTC), now) + timedelta(days=int(body["days"]))
        users.update_one(
            {"_id": telegram_id}, {"$set": {"until": until}, "$push": {"payments": payment_id}}
        )
        enable_everywhere(user["key_id"])
        return jsonify({"key_id": user["key_id"], "until": until.isoformat()})

    @app.delete("/users/<int:telegram_id>")
    def delete_user(telegram_id: int) -> ResponseReturnValue:
        user = users.find_one({"_id": telegram_id})
        if user is None:
            return jsonify({"error": "no such user"}), 404
        for node in nodes.values():
            url = f"{node['url']}/v1/users/{user['key_id']}"
            httpx.delete(url, headers=auth(node), timeout=30)
        users.delete_one({"_id": telegram_id})
        return jsonify({"deleted": telegram_id})

    return app
