"""The database operations Keyland relies on behave on the real server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from keyland.mongo import Document, async_database
from keyland.settings import MongoSettings
from services.notifier.adapters.users import Users as NotifierUsers
from services.notifier.domain.profiles import Profile
from services.subscription.adapters.users import Users, user_document
from services.subscription.domain.fold import fold
from services.subscription.domain.ledger import Entry
from services.subscription.domain.rules import Rules
from tests.unit.subscription.builders import at, started, trial
from tests.user_docs import stored_user


def test_insert_and_find(db: Database[Document]) -> None:
    db.users.insert_one(stored_user(1, username="anna", until=None))
    assert db.users.find_one({"username": "anna"}) == {
        "_id": "user:1", "telegram_id": 1, "username": "anna", "until": None,
    }  # fmt: skip


def test_find_one_and_update_upserts_and_returns_the_new_document(db: Database[Document]) -> None:
    after = db.counters.find_one_and_update(
        {"_id": "c1"},
        {"$inc": {"n": 1}, "$setOnInsert": {"created": True}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert after == {"_id": "c1", "n": 1, "created": True}
    again = db.counters.find_one_and_update(
        {"_id": "c1"}, {"$inc": {"n": 1}}, return_document=ReturnDocument.AFTER
    )
    assert again is not None
    assert again["n"] == 2


def test_update_guarded_by_event_id_applies_once(db: Database[Document]) -> None:
    db.ledger.insert_one({"_id": 7, "days": 0, "applied": []})
    for _ in range(3):
        db.ledger.update_one(
            {"_id": 7, "applied": {"$ne": "event-1"}},
            {"$inc": {"days": 30}, "$push": {"applied": "event-1"}},
        )
    assert db.ledger.find_one({"_id": 7}) == {"_id": 7, "days": 30, "applied": ["event-1"]}


def test_unique_index_refuses_a_second_claim(db: Database[Document]) -> None:
    db.claims.create_index([("notice", 1), ("period", 1)], unique=True)
    db.claims.insert_one({"notice": "expiry", "period": "2026-12-01"})
    with pytest.raises(DuplicateKeyError):
        db.claims.insert_one({"notice": "expiry", "period": "2026-12-01"})
    assert db.claims.count_documents({}) == 1


class TestUserDocumentsAreKeyedByText:
    """``users``, ``profiles`` and ``recipients`` are keyed ``user:<telegram_id>``
    (:func:`keyland.mongo.user_document_id`), the integer id beside it."""

    @pytest.fixture
    async def handle(self, mongo_settings: MongoSettings) -> AsyncIterator[AsyncDatabase[Document]]:
        handle = async_database(mongo_settings, app_name="tests")
        yield handle
        await handle.client.close()

    async def test_the_subscription_service_stores_a_text_id_and_the_integer_id(
        self, handle: AsyncDatabase[Document], db: Database[Document]
    ) -> None:
        users = Users(handle["users"])
        entries: list[Entry] = [started(0, username="Zoe"), trial(0.1)]
        state = fold(4242, entries, Rules(key_secret=b"ferretdb-test-secret"))
        await users.save(user_document(state, entries, [b"fact"], at=at(0.1)))
        await users.clear_outbox(4242)

        stored = db.users.find_one({"telegram_id": 4242}) or {}
        assert stored["_id"] == "user:4242"
        assert type(stored["telegram_id"]) is int
        assert stored["outbox"] == []
        assert db.users.count_documents({"_id": 4242}) == 0
        assert (await users.load(4242)).applied == {str(e.event_id) for e in entries}

    async def test_the_notifier_keeps_profiles_and_records_blocks_by_the_same_ids(
        self, handle: AsyncDatabase[Document], db: Database[Document]
    ) -> None:
        notifier = NotifierUsers(handle["profiles"], handle["recipients"])
        for telegram_id in (4301, 4302):
            await notifier.save_profile(Profile(telegram_id, registered=True, language_code="en"))
        assert db.profiles.find_one({"telegram_id": 4301}, {"_id": 1}) == {"_id": "user:4301"}
        await notifier.mark_blocked(4302, True, at(1))

        assert db.recipients.find_one({"_id": "user:4302"}) == {
            "_id": "user:4302", "telegram_id": 4302, "blocked": True, "changed_at": at(1),
        }  # fmt: skip
        assert (await notifier.get(4301)).language_code == "en"
        reachable = [r.telegram_id for r in await notifier.reachable()]
        assert 4301 in reachable
        assert 4302 not in reachable
