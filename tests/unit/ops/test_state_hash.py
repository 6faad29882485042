"""The canonical form behind ``keyland state hash``: equal state, equal hash."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from bson import Decimal128

from keyland_tools.ops.state_hash import (
    BROADCAST_DELIVERIES,
    BROADCASTS,
    COVERED,
    NODE_KEYS,
    NOTICE_OUTCOMES,
    NOTICES,
    USERS,
    canonical,
    collection_hash,
)

SHAPES = dict(COVERED)
MOMENT = datetime(2026, 11, 27, 12, 0, 0, 123000, tzinfo=UTC)


class TestCanonical:
    def test_the_same_instant_in_any_zone_or_naive_is_one_text(self) -> None:
        moscow = MOMENT.astimezone(timezone(timedelta(hours=3)))
        naive = MOMENT.replace(tzinfo=None)
        assert canonical(moscow) == canonical(naive) == "2026-11-27T12:00:00.123000+00:00"

    def test_mapping_order_does_not_matter_but_list_order_does(self) -> None:
        assert canonical({"b": 1, "a": [1, 2]}) == canonical({"a": [1, 2], "b": 1})
        assert canonical([1, 2]) != canonical([2, 1])

    def test_decimals_and_ids_become_text(self) -> None:
        key = uuid.UUID(int=7)
        assert canonical(Decimal128("199.00")) == canonical(Decimal("199.00")) == "199.00"
        assert canonical(key) == str(key)
        assert canonical(b"\x01\xff") == "01ff"

    def test_an_unknown_type_is_refused_rather_than_guessed(self) -> None:
        with pytest.raises(TypeError, match="set"):
            canonical({1, 2})


class TestWhatIsCovered:
    def test_a_users_outbox_and_processing_time_are_left_out(self) -> None:
        user = {"_id": "user:1", "telegram_id": 1, "until": MOMENT, "outbox": [b"x"],
                "updated_at": MOMENT}  # fmt: skip
        assert SHAPES[USERS](user) == {"_id": "user:1", "telegram_id": 1, "until": MOMENT}

    def test_only_enabled_keys_count_and_without_their_touch_times(self) -> None:
        enabled = {"_id": "applied:k@n", "kind": "applied", "state": "enabled", "link": "vless://k",
                   "until": MOMENT, "updated_at": MOMENT}  # fmt: skip
        assert SHAPES[NODE_KEYS](enabled) == {
            "_id": "applied:k@n", "kind": "applied", "state": "enabled", "link": "vless://k"
        }  # fmt: skip
        assert SHAPES[NODE_KEYS]({**enabled, "state": "disabled"}) is None
        assert SHAPES[NODE_KEYS]({"_id": "node:n", "kind": "node", "down_since": MOMENT}) is None

    def test_a_users_access_is_covered_whole_but_the_revision_it_holds(self) -> None:
        access = {"_id": "user:1", "kind": "user", "until": MOMENT, "seen": ["e1"]}
        assert SHAPES[NODE_KEYS]({**access, "revision": 7}) == access

    def test_what_the_notifier_sent_counts_but_not_when_it_was_filed_or_settled(self) -> None:
        notice = {"_id": "n1", "telegram_id": 1, "kind": "reminder", "due": MOMENT,
                  "values": {"days": 2}, "buttons": [], "planned_at": MOMENT,
                  "minute": "2026-11-27T12:00", "hour": "2026-11-27T12"}  # fmt: skip
        assert SHAPES[NOTICES](notice) == {
            k: v for k, v in notice.items() if k not in {"minute", "hour"}
        }
        outcome = {"_id": "n1", "status": "sent", "message_id": 5, "finished_at": MOMENT}
        assert SHAPES[NOTICE_OUTCOMES](outcome) == {"_id": "n1", "status": "sent", "message_id": 5}

    def test_broadcasts_and_their_deliveries_count_without_wall_clock_times(self) -> None:
        broadcast = {"_id": "b1", "text": "hi", "status": "done", "total": 2,
                     "requested_at": MOMENT, "finished_at": MOMENT}  # fmt: skip
        assert SHAPES[BROADCASTS](broadcast) == {
            "_id": "b1", "text": "hi", "status": "done", "total": 2, "requested_at": MOMENT
        }  # fmt: skip
        delivery = {"_id": "b1:1", "broadcast_id": "b1", "status": "sent", "at": MOMENT}
        assert SHAPES[BROADCAST_DELIVERIES](delivery) == {
            "_id": "b1:1", "broadcast_id": "b1", "status": "sent"
        }  # fmt: skip


def test_one_changed_document_changes_the_digest() -> None:
    same = collection_hash("users", ['{"_id":1}', '{"_id":2}'])
    assert collection_hash("users", ['{"_id":1}', '{"_id":2}']) == same
    assert collection_hash("users", ['{"_id":1}', '{"_id":3}']).digest != same.digest
