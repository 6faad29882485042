"""The database operations Keyland relies on behave on the real server."""

from __future__ import annotations

import pytest
from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from keyland.mongo import Document


def test_insert_and_find(db: Database[Document]) -> None:
    db.users.insert_one({"_id": 1, "username": "anna", "until": None})
    assert db.users.find_one({"username": "anna"}) == {"_id": 1, "username": "anna", "until": None}


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
