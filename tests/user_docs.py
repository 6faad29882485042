"""The subscription service's ``users`` documents and the notifier's ``profiles`` as the
tests read and seed them, keyed the way the services key them
(:func:`keyland.mongo.user_document_id`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo.database import Database

from keyland.mongo import Document, user_document_id
from services.notifier.domain.profiles import Profile


def user_doc(db: Database[Document], telegram_id: int) -> Document:
    """The ``users`` document of ``telegram_id``; ``{}`` while there is none."""
    return db.users.find_one({"_id": user_document_id(telegram_id)}) or {}


def stored_user(telegram_id: int, **fields: Any) -> Document:
    """A ``users`` document for ``telegram_id`` with ``fields``, shaped as the subscription
    service stores it (for tests that seed readers without running the processor)."""
    return {"_id": user_document_id(telegram_id), "telegram_id": telegram_id, **fields}


def notifier_profile(telegram_id: int, **fields: Any) -> Document:
    """A notifier ``profiles`` document for ``telegram_id`` with ``fields``, shaped as the
    notifier stores it (for tests that seed the notifier without sending it events)."""
    return {"_id": user_document_id(telegram_id), **asdict(Profile(telegram_id, **fields))}
