"""The subscription service's ``users`` documents as the tests read and seed them, keyed
the way the services key them (:func:`keyland.mongo.user_document_id`)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from keyland.mongo import Document, user_document_id


def user_doc(db: Database[Document], telegram_id: int) -> Document:
    """The ``users`` document of ``telegram_id``; ``{}`` while there is none."""
    return db.users.find_one({"_id": user_document_id(telegram_id)}) or {}


def stored_user(telegram_id: int, **fields: Any) -> Document:
    """A ``users`` document for ``telegram_id`` with ``fields``, shaped as the subscription
    service stores it (for tests that seed readers without running the processor)."""
    return {"_id": user_document_id(telegram_id), "telegram_id": telegram_id, **fields}
