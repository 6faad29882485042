"""Users' views read from ``users`` for operator tools (``keyland users show/find``).

Synchronous (pymongo), like the command line that calls it; the read API serves the same
:class:`~events.users.UserView` over HTTP to the services. Every read leaves out the
ledger, outbox and share (:data:`.users.VIEW_ONLY`).
"""

from __future__ import annotations

import re
from typing import Self

from pymongo.collection import Collection
from pymongo.database import Database

from events.users import UserView
from keyland.mongo import Document, user_document_id
from services.subscription.adapters.users import VIEW_ONLY, stored_view


class UserViews:
    """Read-only lookups of users' views."""

    def __init__(self, users: Collection[Document]) -> None:
        self._users = users

    @classmethod
    def from_database(cls, db: Database[Document]) -> Self:
        return cls(db["users"])

    def get(self, telegram_id: int) -> UserView | None:
        document = self._users.find_one({"_id": user_document_id(telegram_id)}, VIEW_ONLY)
        return None if document is None else stored_view(document)

    def by_username_prefix(self, prefix: str, limit: int) -> list[UserView]:
        """Users whose username starts with ``prefix`` (case ignored). A regex: a whole
        read of the collection on FerretDB, fine for an operator, never for a service."""
        pattern = "^" + re.escape(prefix.lower())
        cursor = self._users.find({"username_lower": {"$regex": pattern}}, VIEW_ONLY)
        return [stored_view(document) for document in cursor.limit(limit)]

    def invited(self, telegram_id: int) -> int:
        """How many users name ``telegram_id`` as their referrer."""
        return self._users.count_documents({"referrer_id": telegram_id})
